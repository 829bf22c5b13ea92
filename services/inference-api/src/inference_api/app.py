"""The ASGI application: routers, state and the access-log middleware, built from Settings."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from . import __version__
from .accesslog import AccessLogMiddleware
from .bedrock import ClientHolder
from .chat import failure_response
from .chat import router as chat_router
from .config import Settings
from .errors import UpstreamFailure
from .features import agentcore_available
from .health import Health, health_body
from .health import router as health_router

log = logging.getLogger("inference_api")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    fields = {"version": __version__, "image_tag": settings.image_tag, "model_id": settings.bedrock_model_id}
    log.info("started", extra={"fields": {**fields, "bedrock_region": settings.bedrock_region}})
    # Everything allocated so far lives as long as the process: moving it out of the garbage
    # collector's view keeps full collections short, which is what p99 latency feels.
    gc.freeze()
    app.state.ready = True
    yield
    # uvicorn has stopped accepting connections and drained in-flight requests by now.
    app.state.ready = False
    log.info("stopped")


def create_app(settings: Settings | None = None, bedrock_client: Any = None) -> FastAPI:
    """Build the app; with no settings, read them from the environment (uvicorn --factory).

    `bedrock_client` replaces the lazily created one (tests pass a Stubber-wrapped client).
    """
    settings = settings or Settings.from_env(os.environ)
    # /inference/* is the only prefix the load balancer routes here, so the docs live under it.
    app = FastAPI(
        title=settings.service_name,
        version=__version__,
        lifespan=lifespan,
        docs_url="/inference/docs",
        openapi_url="/inference/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.ready = False
    app.state.bedrock = ClientHolder(settings, bedrock_client)
    health = Health(
        status="ok",
        service=settings.service_name,
        version=__version__,
        image_tag=settings.image_tag,
        model_id=settings.bedrock_model_id,
        agentcore=agentcore_available(),
    )
    app.state.health_body = health_body(health)
    app.include_router(health_router)
    app.include_router(chat_router)
    app.add_exception_handler(UpstreamFailure, failure_response)
    app.add_middleware(AccessLogMiddleware)
    return app
