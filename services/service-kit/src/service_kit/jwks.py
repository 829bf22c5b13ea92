"""The issuer's signing keys: fetched off the event loop, cached, refetched for an unknown key id.

PyJWT's PyJWKClient fetches synchronously and refetches on every unknown `kid`, so a flood of
tokens with made-up key ids would become a flood of requests to the issuer; this cache refetches
at most once per REFETCH_INTERVAL_SECONDS, keeps serving the keys it has when the issuer is down,
and never makes a request wait longer than FETCH_DEADLINE_SECONDS for the issuer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from .authconfig import DEFAULT_JWKS_REFETCH_SECONDS
from .envconfig import secure_url

if TYPE_CHECKING:  # PyJWT is imported when keys are first needed (auth.py says why)
    from jwt import PyJWK

log = logging.getLogger("service_kit.auth")

FETCH_DEADLINE_SECONDS = 3.0  # a dead issuer is a quick 503, well inside any client's patience
REFETCH_INTERVAL_SECONDS = DEFAULT_JWKS_REFETCH_SECONDS  # AUTH_JWKS_REFETCH_SECONDS unless set
MAX_AGE_SECONDS = 3600.0  # keys are re-read hourly even when every kid is known
MAX_DOCUMENT_BYTES = 1_048_576
SIGNING_KEY_TYPES = ("RSA", "EC")


class KeysUnavailable(Exception):
    """The issuer could not be reached (or answered nonsense) and no keys are cached."""


class JwksCache:
    def __init__(self, issuer: str, jwks_url: str | None, clock: Callable[[], float] = time.monotonic,
                 refetch_seconds: float = REFETCH_INTERVAL_SECONDS) -> None:
        self._issuer = issuer
        self._jwks_url = jwks_url
        self._clock = clock
        self._refetch_seconds = refetch_seconds
        self._keys: dict[str | None, PyJWK] | None = None
        self._fetched_at = self._tried_at = -MAX_AGE_SECONDS
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> PyJWK | None:
        """The key for `kid` (None: the only key), or None when the issuer has no such key."""
        if self._keys is not None and kid in self._keys and self._clock() - self._fetched_at < MAX_AGE_SECONDS:
            return self._keys[kid]
        async with self._lock:  # one fetch at a time; the others wait for its result
            if self._keys is None or kid not in self._keys or self._stale():
                await self._refresh()
            if self._keys is None:
                raise KeysUnavailable("the sign-in issuer's keys could not be fetched")
            return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._clock() - self._fetched_at >= MAX_AGE_SECONDS

    async def _refresh(self) -> None:
        if self._clock() - self._tried_at < self._refetch_seconds:
            return
        self._tried_at = self._clock()
        from jwt.exceptions import PyJWKError

        try:
            with anyio.fail_after(FETCH_DEADLINE_SECONDS):
                keys = await anyio.to_thread.run_sync(self._fetch, abandon_on_cancel=True)
        except (TimeoutError, OSError, ValueError, PyJWKError) as exc:
            log.warning("fetching the sign-in keys failed: %s", exc, extra={"fields": {"issuer": self._issuer}})
            return  # keep serving the keys already known
        self._keys, self._fetched_at = keys, self._clock()

    def _fetch(self) -> dict[str | None, PyJWK]:
        """Runs in a worker thread: discovery document (unless AUTH_JWKS_URL), then the key set."""
        url = self._jwks_url
        if url is None:
            discovery = _get_json(self._issuer.rstrip("/") + "/.well-known/openid-configuration")
            if discovery.get("issuer") != self._issuer:
                raise ValueError("the discovery document names another issuer")
            url = str(discovery.get("jwks_uri", ""))
        if not secure_url(url):
            raise ValueError("jwks_uri must be an https:// URL")
        return signing_keys(_get_json(url))


def signing_keys(document: dict[str, Any]) -> dict[str | None, PyJWK]:
    """Signature keys by kid; a set with one key also answers tokens without a kid."""
    from jwt import PyJWK
    from jwt.exceptions import PyJWKError

    keys: dict[str | None, PyJWK] = {}
    for data in document.get("keys", []):
        if isinstance(data, dict) and data.get("kty") in SIGNING_KEY_TYPES and data.get("use", "sig") == "sig":
            try:
                keys[data.get("kid")] = PyJWK(data)
            except PyJWKError:
                continue  # an algorithm we do not accept anyway
    if not keys:
        raise ValueError("the key set holds no RSA or EC signing key")
    if len(keys) == 1:
        keys[None] = next(iter(keys.values()))
    return keys


def _get_json(url: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=FETCH_DEADLINE_SECONDS) as response:  # noqa: S310 (https or loopback)
        body = response.read(MAX_DOCUMENT_BYTES + 1)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{url} answered more than {MAX_DOCUMENT_BYTES} bytes")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return document
