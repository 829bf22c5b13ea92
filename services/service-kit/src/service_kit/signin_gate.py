"""Sign-in before the body: a route that needs sign-in refuses an anonymous caller before anything reads,
counts or parses what it sent.

The body guard (size, finite numbers) and FastAPI's validation read the body; run first, they told an
anonymous caller what its body got wrong (422, 413) and made the service parse it. This pure ASGI
layer sits outside the body guard: it finds the route the request is for (Starlette's own matching,
so path parameters and methods count as the router counts them), and when that route carries a
`sign_in()` dependency for the method, checks the bearer token with the same `auth.admit` the
dependency uses. Everything else (health checks, /ping, public routes, 404s) passes untouched.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Match, Router

try:  # FastAPI >= 0.160 keeps included routers whole; this walks the routes they contribute
    from fastapi.routing import iter_route_contexts
except ImportError:  # older FastAPI copied every included route into app.router.routes
    iter_route_contexts = None

from .auth import admit
from .bodyguard import DRAIN_LIMIT_BYTES, send_error
from .errors import ApiError

Scope = dict[str, Any]
# Decisions are remembered per (method, path); a client inventing paths must not grow memory.
_CACHE_SIZE = 2048


class SignInGate:
    def __init__(self, app: Any, service: Any) -> None:
        self.app = app
        self.service = service  # the FastAPI application: its router, state.auth and state.settings
        self._needs: dict[tuple[str, str], bool] = {}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self._needs_sign_in(scope):
            await self.app(scope, receive, send)
            return
        state = self.service.state
        try:
            caller = await admit(state.auth, state.settings.auth, bearer_token(scope))
        except ApiError as exc:
            # The body is never read: the server discards it as it arrives, except a declared
            # body too large to be worth discarding, after which the connection is closed.
            close = (declared_length(scope) or 0) > DRAIN_LIMIT_BYTES
            await send_error(send, exc.status, exc.code, exc.message, exc.headers, close=close)
            return
        scope.setdefault("state", {})["caller"] = caller  # request.state.caller for sign_in()
        await self.app(scope, receive, send)

    def _needs_sign_in(self, scope: Scope) -> bool:
        key = (scope["method"], scope["path"])
        known = self._needs.get(key)
        if known is None:
            known = route_needs_sign_in(self.service.router, scope)
            if len(self._needs) >= _CACHE_SIZE:
                self._needs.clear()
            self._needs[key] = known
        return known


def route_needs_sign_in(router: Router, scope: Scope) -> bool:
    """Whether the route `scope` is for carries a sign_in() dependency covering its method.

    As the router does, a route matching the path but not the method counts when no route matches
    both: a wrong method on a signed-in route is refused as anonymous before it is refused as a 405.
    """
    chosen = None
    for route in flat_routes(router):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            chosen = route
            break
        if match is Match.PARTIAL and chosen is None:
            chosen = route
    dependencies = getattr(chosen, "dependencies", ())
    return any(_covers(dep.dependency, scope["method"]) for dep in dependencies)


def flat_routes(router: Router) -> list[Any]:
    """Every route with its effective path and dependencies (those of the routers it was included with)."""
    routes: list[BaseRoute] = router.routes
    return list(iter_route_contexts(routes)) if iter_route_contexts is not None else list(routes)


def _covers(dependency: Any, method: str) -> bool:
    if not hasattr(dependency, "sign_in_methods"):
        return False
    methods = dependency.sign_in_methods
    return methods is None or method in methods


def bearer_token(scope: Scope) -> str | None:
    """The token of `Authorization: Bearer <token>` (scheme in any case, as HTTPBearer reads it)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return (token.strip() or None) if scheme.lower() == "bearer" else None
    return None


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None
