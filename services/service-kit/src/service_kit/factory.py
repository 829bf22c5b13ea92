"""The FastAPI application every service starts from: docs under its routed prefix, the health
routes, readiness tied to the lifespan, the access-log middleware with request ids, the sign-in
gate, the body guard (size limit, finite numbers), one error shape, and the token verifier.

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
from .auth import make_verifier
from .bodyguard import BodyGuardMiddleware
from .docs import add_docs
from .envconfig import ConfigError
from .errors import install_error_handlers
from .health import Health, HealthFastPath, health_body, health_router
from .settings import ServiceSettings
from .signin_gate import SignInGate

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
    problem = settings.auth.problem(settings.requires_sign_in)
    if problem:  # settings built in code, not by from_env (which reports this with the rest)
        raise ConfigError(f"invalid configuration: {problem}")
    started = {"version": version, "image_tag": settings.image_tag, **(started_fields or {})}
    app = FastAPI(
        title=settings.service_name,
        version=version,
        lifespan=_lifespan(logging.getLogger(logger), started, settings),
        docs_url=None,
        openapi_url=f"{docs_prefix}/openapi.json" if settings.docs_enabled else None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    if settings.docs_enabled:
        add_docs(app, docs_prefix, settings.service_name)
    app.state.settings = settings
    app.state.auth = make_verifier(settings.auth)
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
    install_error_handlers(app)
    # Starlette builds the middleware stack on the first request, so routers a service adds
    # after this still run inside both. The last added is the outermost: the access log sees
    # (and gives a request id to) the body guard's 413 and 422 answers too. The sign-in gate is
    # outside the body guard: an anonymous caller gets its 401 before anything reads its body.
    app.add_middleware(HealthFastPath, path=f"{health_prefix}/health")
    app.add_middleware(BodyGuardMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SignInGate, service=app)
    app.add_middleware(AccessLogMiddleware)
    return app


def _lifespan(log: logging.Logger, started: dict[str, Any], settings: ServiceSettings) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("started", extra={"fields": started})
        if settings.auth.disabled:
            log.warning("AUTH_DISABLED=1: routes that need sign-in are open to anyone")
        # Everything allocated so far lives as long as the process: moving it out of the garbage
        # collector's view keeps full collections short, which is what p99 latency feels.
        gc.freeze()
        app.state.ready = True
        yield
        # uvicorn has stopped accepting connections and drained in-flight requests by now.
        app.state.ready = False
        log.info("stopped")

    return lifespan
