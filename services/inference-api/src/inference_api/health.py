"""Health endpoints under /inference, the only prefix the load balancer routes here.

No Bedrock call: a throttled or slow model must not make the load balancer kill healthy tasks.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

router = APIRouter(prefix="/inference", tags=["health"])


class Health(BaseModel):
    status: str
    service: str
    version: str
    image_tag: str
    model_id: str
    agentcore: bool


def health_body(health: Health) -> bytes:
    """Encoded once at start-up: the answer never changes while the process lives."""
    return json.dumps(health.model_dump(), separators=(",", ":")).encode()


@router.get("/health", response_model=Health)
async def health(request: Request) -> Response:
    return Response(request.app.state.health_body, media_type="application/json")


@router.get("/health/ready", responses={503: {"description": "starting up or shutting down"}})
async def ready(request: Request) -> Response:
    """Ready between the end of start-up and the start of shutdown."""
    if request.app.state.ready:
        return Response(b'{"status":"ready"}', media_type="application/json")
    return Response(b'{"status":"not_ready"}', status_code=503, media_type="application/json")
