"""Health endpoints. The load balancer calls /health every few seconds: no downstream calls."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    service: str
    version: str
    image_tag: str


def health_body(service: str, version: str, image_tag: str) -> bytes:
    """Encoded once at start-up: the answer never changes while the process lives."""
    health = Health(status="ok", service=service, version=version, image_tag=image_tag)
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
