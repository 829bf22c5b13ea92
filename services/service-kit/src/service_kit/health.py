"""Health endpoints. The load balancer calls them every few seconds: no downstream calls, ever.

A throttled or slow dependency must not make the load balancer kill healthy tasks, so the
answer is encoded once at start-up and only readiness changes while the process lives.
"""

from __future__ import annotations

import json

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
