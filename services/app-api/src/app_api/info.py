"""/api/info and /api/echo: what is running, and a round trip a client can test against."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from service_kit.auth import WRITE_METHODS, sign_in
from service_kit.jsonlog import request_id_var

from . import __version__

# Reads are open; writes under /api need a signed-in caller.
router = APIRouter(prefix="/api", tags=["info"], dependencies=[sign_in(WRITE_METHODS)])


class Info(BaseModel):
    service: str
    version: str
    image_tag: str
    environment: str
    region: str | None
    started_at: datetime
    uptime_seconds: float


class Echo(BaseModel):
    message: str
    request_id: str | None


@router.get("/info", response_model=Info)
async def info(request: Request) -> Info:
    state = request.app.state
    settings = state.settings
    return Info(
        service=settings.service_name,
        version=__version__,
        image_tag=settings.image_tag,
        environment=settings.environment,
        region=settings.aws_region,
        started_at=datetime.fromtimestamp(state.started_at, UTC),
        uptime_seconds=round(time.time() - state.started_at, 3),
    )


@router.get("/echo", response_model=Echo)
async def echo(request: Request, message: str = Query(min_length=1, max_length=1000)) -> Echo:
    return Echo(message=message, request_id=request_id_var.get())
