"""/api/admin/*: what an operator needs from a running task. Needs the admin claim when sign-in is on.

The caller's token must carry ADMIN_GROUP in ADMIN_CLAIM (default: `admin` in `cognito:groups`);
with AUTH_DISABLED=1 (warned about at start-up) the routes are open like the rest.
"""

from __future__ import annotations

import dataclasses
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import APIRouter, Depends, Request
from service_kit.auth import caller_of, sign_in
from service_kit.errors import ApiError

from . import __version__

# Names of settings never shown, whatever their value (none hold secrets today; new ones might).
_HIDDEN = ("secret", "password", "token", "key", "credential")
_PACKAGES = ("fastapi", "uvicorn", "pydantic", "PyJWT", "service-kit")


async def require_admin(request: Request) -> None:
    if request.app.state.auth is None:  # sign-in is off (AUTH_DISABLED=1)
        return
    settings = request.app.state.settings
    held = caller_of(request).claims.get(settings.admin_claim)
    values = held.split() if isinstance(held, str) else held if isinstance(held, list) else []
    if settings.admin_group not in values:
        raise ApiError(403, "forbidden", f"admin routes need {settings.admin_group!r} in the token's "
                                         f"{settings.admin_claim!r} claim")


router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[sign_in(), Depends(require_admin)])


@router.get("/version")
async def admin_version(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    return {"service": settings.service_name, "version": __version__, "image_tag": settings.image_tag,
            "environment": settings.environment,
            "uptime_seconds": round(time.time() - request.app.state.started_at, 3),
            "packages": {name: _version(name) for name in _PACKAGES}}


@router.get("/config")
async def admin_config(request: Request) -> dict[str, Any]:
    """The settings in effect, from the environment; names that could hold a secret are left out."""
    return _visible(dataclasses.asdict(request.app.state.settings))


@router.get("/checks")
async def admin_checks(request: Request) -> dict[str, Any]:
    """Dependency checks: the sign-in issuer's keys (fetched now if not cached)."""
    checks: dict[str, Any] = {}
    verifier = request.app.state.auth
    if verifier is None:
        checks["sign_in"] = {"ok": True, "detail": "sign-in is off (AUTH_DISABLED=1)"}
    else:
        started = time.monotonic()
        try:
            await verifier.keys.key(None)
            checks["sign_in"] = {"ok": True, "detail": "issuer keys available"}
        except Exception as exc:  # reported, not raised: this route exists to say what is wrong
            checks["sign_in"] = {"ok": False, "detail": f"issuer keys unavailable: {type(exc).__name__}"}
        checks["sign_in"]["ms"] = round((time.monotonic() - started) * 1000, 1)
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}


def _visible(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _visible(v) if isinstance(v, dict) else v for k, v in values.items()
            if not any(word in k.lower() for word in _HIDDEN)}


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None
