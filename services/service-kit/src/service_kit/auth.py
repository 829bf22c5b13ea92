"""Bearer tokens, verified by the service itself: signature against the issuer's keys, then claims.

PyJWT (with `cryptography`) does the cryptography and the standard claims (`exp`, `nbf`, `iss`,
with leeway): it is the most used JWT library for Python, maintained, typed, and insists on an
explicit algorithm list, so `none` and HS* (an RSA public key misused as an HMAC secret) can
never verify. Key fetching is ours (jwks.py), to keep the issuer's latency off the event loop.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .accesslog import note_caller
from .authconfig import AuthSettings
from .errors import ApiError
from .jwks import JwksCache, KeysUnavailable

log = logging.getLogger("service_kit.auth")

ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 30  # clocks of the issuer and of the task may differ a little
# A client sends the same access token for an hour: its signature is checked once, and later
# requests only compare `exp` with the clock. Only verified tokens enter, so junk cannot evict.
VERIFIED_CACHE_SIZE = 4096
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_bearer = HTTPBearer(auto_error=False, description="An access token from the sign-in issuer")
_BEARER = Depends(_bearer)  # also puts the bearer scheme (the Authorize button) into the OpenAPI document


@dataclass(frozen=True)
class Caller:
    sub: str
    # The verified token's claims, for routes that check more than who is calling (admin groups).
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


ANONYMOUS = Caller(sub="anonymous")


class TokenVerifier:
    def __init__(self, auth: AuthSettings) -> None:
        assert auth.issuer is not None and auth.audience is not None
        self.issuer = auth.issuer
        self.audience = auth.audience
        self.keys = JwksCache(auth.issuer, auth.jwks_url, refetch_seconds=auth.jwks_refetch_seconds)
        self._verified: OrderedDict[str, tuple[Caller, float]] = OrderedDict()

    async def verify(self, token: str) -> Caller:
        """The caller named by a valid token; ApiError 401 (bad token) or 503 (issuer unreachable)."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1] + LEEWAY_SECONDS:
            return known[0]
        caller, expires = await self._verify_signed(token)
        self._verified[token] = (caller, expires)
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return caller

    async def _verify_signed(self, token: str) -> tuple[Caller, float]:
        # PyJWT brings `cryptography` (~0.2 s to import): loaded by the first token, not at start-up,
        # so /health answers sooner after the process starts.
        import jwt

        self._verified.pop(token, None)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise invalid_token("the token is malformed") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise invalid_token("the token's algorithm is not accepted (RS256 or ES256 only)")
        try:
            key = await self.keys.key(header.get("kid"))
        except KeysUnavailable:
            raise ApiError(503, "auth_unavailable", "sign-in cannot be checked right now; retry later") from None
        if key is None or key.algorithm_name != algorithm:
            raise invalid_token("the token is not signed by a key of the issuer")
        claims = claims_checked(self._decode(token, key.key, algorithm), self.audience)
        return Caller(sub=claims["sub"], claims=claims), float(claims["exp"])

    def _decode(self, token: str, key: Any, algorithm: str) -> dict[str, Any]:
        import jwt

        try:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise invalid_token("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise invalid_token("the token is not valid yet") from None
        except jwt.InvalidIssuerError:
            raise invalid_token("the token is from another issuer") from None
        except jwt.PyJWTError:
            raise invalid_token("the token's signature or claims are invalid") from None


def claims_checked(claims: dict[str, Any], audience: str) -> dict[str, Any]:
    """`aud` must name us; Cognito access tokens carry no `aud`, but `client_id` and `token_use`."""
    aud = claims.get("aud")
    if aud is not None:
        ok = audience in (aud if isinstance(aud, list) else [aud])
    else:
        ok = claims.get("client_id") == audience and claims.get("token_use") == "access"
    if not ok:
        raise invalid_token("the token is for another audience")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise invalid_token("the token names no subject")
    return claims


def invalid_token(message: str) -> ApiError:
    return ApiError(401, "invalid_token", message, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def sign_in(methods: Collection[str] | None = None) -> Any:
    """A FastAPI dependency (for a router's or a route's `dependencies=[...]`): a valid bearer token
    is required for `methods` (all when None). It leaves the caller on `request.state.caller`.

    It also marks the route for signin_gate.SignInGate, which checks the token before anything
    reads the body; the dependency then finds the caller the gate admitted.
    """

    async def require_caller(request: Request, credentials: HTTPAuthorizationCredentials | None = _BEARER) -> None:
        if methods is not None and request.method not in methods:
            return
        caller = getattr(request.state, "caller", None)
        if caller is None:  # an app built without the gate (the kit's factory always adds it)
            token = credentials.credentials if credentials is not None else None
            caller = await admit(request.app.state.auth, request.app.state.settings.auth, token)
            request.state.caller = caller
        note_caller(caller.sub)

    require_caller.sign_in_methods = None if methods is None else frozenset(methods)  # type: ignore[attr-defined]
    return Depends(require_caller)


async def admit(verifier: TokenVerifier | None, auth: AuthSettings, token: str | None) -> Caller:
    """The caller a bearer token names, or ApiError: 401 without a (valid) token, 503 when sign-in
    cannot be checked or was never configured. The one decision both the gate and sign_in() use."""
    if verifier is None:
        if auth.disabled:  # AUTH_DISABLED=1, warned about at start-up
            return ANONYMOUS
        # Only a service that never declared requires_sign_in gets here: fail closed.
        raise ApiError(503, "auth_not_configured", "sign-in is not configured on this service (AUTH_ISSUER)")
    if not token:
        raise ApiError(
            401, "unauthorized", "sign-in required: send Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"}
        )
    return await verifier.verify(token)


def caller_of(request: Request) -> Caller:
    """The caller a `sign_in` dependency admitted (ANONYMOUS when sign-in is off)."""
    return getattr(request.state, "caller", ANONYMOUS)


def make_verifier(auth: AuthSettings) -> TokenVerifier | None:
    return None if auth.disabled or auth.issuer is None else TokenVerifier(auth)
