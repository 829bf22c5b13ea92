"""Health endpoints. The load balancer calls them every few seconds: no downstream calls, ever.

A throttled or slow dependency must not make the load balancer kill healthy tasks, so the
answer is encoded once at start-up and only readiness changes while the process lives.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

_READY = b'{"status":"ready"}'
_NOT_READY = b'{"status":"not_ready"}'


# What /health answers; a service subclasses it to add fields, and the OpenAPI schema follows.
# No docstring: pydantic would publish it as the schema's description.
class Health(BaseModel):
    status: str
    service: str
    version: str
    image_tag: str


def health_body(health: BaseModel) -> bytes:
    """Encoded once at start-up: the answer never changes while the process lives."""
    return json.dumps(health.model_dump(), separators=(",", ":")).encode()


def health_router(prefix: str = "", model: type[Health] = Health) -> APIRouter:
    """`{prefix}/health` answers app.state.health_body; `{prefix}/health/ready` follows app.state.ready."""
    router = APIRouter(prefix=prefix, tags=["health"])

    @router.get("/health", response_model=model)
    async def health(request: Request) -> Response:
        return Response(request.app.state.health_body, media_type="application/json")

    @router.get("/health/ready", responses={503: {"description": "starting up or shutting down"}})
    async def ready(request: Request) -> Response:
        """Ready between the end of start-up and the start of shutdown."""
        if request.app.state.ready:
            return Response(_READY, media_type="application/json")
        return Response(_NOT_READY, status_code=503, media_type="application/json")

    return router


class HealthFastPath:
    """Pure ASGI: answers `GET {prefix}/health` with the body encoded at start-up, before routing.

    The load balancer calls it every few seconds and a benchmark hammers it; through FastAPI each
    call also pays for route matching, dependency solving (query string, cookies, headers parsed
    for an endpoint that reads none of them) and a Response object, about half of the request's
    in-process time. The answer is byte for byte the route's (same body, same two headers); the
    route stays registered, so the OpenAPI schema, other methods (405) and `/health/ready` are
    unchanged. Added innermost, so the access log and request id still wrap it.
    """

    def __init__(self, app: Any, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        body = scope["app"].state.health_body
        headers = [(b"content-length", b"%d" % len(body)), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
