"""Pure decisions for `--publish frontend`: the site's config.json, upload order, and which old
objects may go.

A page loaded just before a publish keeps asking for the assets it names until the visitor
reloads, and CloudFront may serve the old index.html until its invalidation completes. So the
assets the previously published pages name stay for one more generation; only older ones go.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

Item = TypeVar("Item")


def upload_order(items: Sequence[Item], key: Callable[[Item], str], pages: Iterable[str]) -> list[Item]:
    """Assets first, pages last: a visitor who gets the new page must find every asset it names."""
    suffixes = tuple(pages)
    return sorted(items, key=lambda i: key(i).endswith(suffixes))


def page_keys(keys: Iterable[str], pages: Iterable[str]) -> list[str]:
    suffixes = tuple(pages)
    return sorted(k for k in keys if k.endswith(suffixes))


def previous_generation(published: Mapping[str, str], refs: Callable[[str, str], list[str]]) -> set[str]:
    """Keys the pages now in the bucket (key -> HTML) refer to: the generation visitors may still load."""
    return {ref for page, html in published.items() for ref in refs(page, html)}


def stale_keys(before: set[str], current: set[str], previous: set[str]) -> set[str]:
    """Objects neither this publish nor the previous one uses: two generations old, or never ours."""
    return before - current - previous



# The parameters the auth stack writes under /<prefix>/auth/ (see generators/naming.py), and the
# config.json key each becomes. Only the issuer decides whether sign-in is on.
AUTH_PARAMS = {"issuer": "issuer", "client-id": "clientId", "audience": "audience",
               "authorize-url": "authorizeUrl", "token-url": "tokenUrl"}
REQUIRED_AUTH = ("issuer", "client-id")
# What the site asks for: an ID token with a display name; the access token is what the APIs check.
SCOPE = "openid email profile"
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def _checked_url(name: str, url: str) -> str:
    """https only; plain http is accepted for loopback hosts (a local issuer in tests)."""
    parts = urlsplit(url)
    local = parts.scheme == "http" and (parts.hostname or "") in {h.strip("[]") for h in LOOPBACK}
    if not parts.netloc or (parts.scheme != "https" and not local) or any(c in url for c in "\"'<> "):
        raise ValueError(f"{name} is {url!r}, not an https:// URL")
    return url


def site_config(values: Mapping[str, str]) -> dict[str, Any]:
    """config.json from the auth parameters found (key -> value): {"auth": null} without an issuer.

    Raises ValueError naming the key when the issuer is there but the rest is incomplete or unsafe.
    """
    if "issuer" not in values:
        return {"auth": None}
    for key in REQUIRED_AUTH:
        if not values.get(key):
            raise ValueError(f"auth/{key} is missing or empty although auth/issuer is set")
    auth: dict[str, Any] = {AUTH_PARAMS[k]: values[k] for k in AUTH_PARAMS if values.get(k)}
    for key in ("issuer", "authorize-url", "token-url"):
        if key in values:
            _checked_url(f"auth/{key}", values[key])
    auth.setdefault("audience", auth["clientId"])
    auth["scope"] = SCOPE
    return {"auth": auth}
