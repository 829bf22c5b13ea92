"""The ASGI application: the kit's app (health, request ids, access log) plus app-api's routers."""

from __future__ import annotations

import os
import time

from fastapi import FastAPI
from service_kit.factory import create_service_app

from . import __version__
from .admin import router as admin_router
from .config import Settings
from .info import router as info_router
from .items import ItemStore
from .items import router as items_router


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; with no settings, read them from the environment (uvicorn --factory)."""
    settings = settings or Settings.from_env(os.environ)
    # /api/* and /health are the only paths the load balancer routes here, so the docs live under /api.
    app = create_service_app(settings, version=__version__, logger="app_api", docs_prefix="/api")
    app.state.started_at = time.time()
    app.state.items = ItemStore()
    app.include_router(info_router)
    app.include_router(items_router)
    app.include_router(admin_router)
    return app
