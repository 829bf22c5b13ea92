"""The FastAPI application every service starts from: docs under its routed prefix, the health
routes, readiness tied to the lifespan, and the access-log middleware with request ids.

A service adds its own routers, state and exception handlers to what this returns.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from .accesslog import AccessLogMiddleware
from .health import Health, health_body, health_router
from .settings import ServiceSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_service_app(
    settings: ServiceSettings,
    *,
    version: str,
    logger: str,
    docs_prefix: str,
    health_prefix: str = "",
    health_model: type[Health] = Health,
    health_fields: Mapping[str, Any] | None = None,
    started_fields: Mapping[str, Any] | None = None,
) -> FastAPI:
    """`docs_prefix` and `health_prefix` must be paths the load balancer routes to this service.

    `health_fields` fill what `health_model` adds to Health; `started_fields` join the
    version and image tag on the "started" log line.
    """
    started = {"version": version, "image_tag": settings.image_tag, **(started_fields or {})}
    app = FastAPI(
        title=settings.service_name,
        version=version,
        lifespan=_lifespan(logging.getLogger(logger), started),
        docs_url=f"{docs_prefix}/docs",
        openapi_url=f"{docs_prefix}/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.ready = False
    health = health_model(
        status="ok",
        service=settings.service_name,
        version=version,
        image_tag=settings.image_tag,
        **(health_fields or {}),
    )
    app.state.health_body = health_body(health)
    app.include_router(health_router(health_prefix, health_model))
    # Starlette builds the middleware stack on the first request, so routers a service adds
    # after this still run inside the access log.
    app.add_middleware(AccessLogMiddleware)
    return app


def _lifespan(log: logging.Logger, started: dict[str, Any]) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("started", extra={"fields": started})
        # Everything allocated so far lives as long as the process: moving it out of the garbage
        # collector's view keeps full collections short, which is what p99 latency feels.
        gc.freeze()
        app.state.ready = True
        yield
        # uvicorn has stopped accepting connections and drained in-flight requests by now.
        app.state.ready = False
        log.info("stopped")

    return lifespan
