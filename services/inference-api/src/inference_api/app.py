"""The ASGI application: the kit's app (health, request ids, access log) plus the chat routes."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from service_kit.factory import create_service_app

from . import __version__
from .agent import router as agent_router
from .agent_runner import ModelHolder, warm_up
from .agentcore import PingState, ping_router
from .agentcore import router as agentcore_router
from .bedrock import ClientHolder
from .chat import router as chat_router
from .config import Settings
from .features import agentcore_available, health_fields
from .schemas import Health
from .streams import StreamSlots

# /inference/* is the only prefix the load balancer routes here: docs and health live under it.
PREFIX = "/inference"


def create_app(settings: Settings | None = None, bedrock_client: Any = None) -> FastAPI:
    """Build the app; with no settings, read them from the environment (uvicorn --factory).

    `bedrock_client` replaces the lazily created one (tests pass a Stubber-wrapped client).
    """
    settings = settings or Settings.from_env(os.environ)
    model = {"model_id": settings.bedrock_model_id}
    app = create_service_app(
        settings,
        version=__version__,
        logger="inference_api",
        docs_prefix=PREFIX,
        health_prefix=PREFIX,
        # Health never calls Bedrock: it says which model is configured, not whether it answers.
        health_model=Health,
        health_fields=health_fields(settings),
        started_fields={**model, "bedrock_region": settings.bedrock_region},
    )
    app.state.bedrock = ClientHolder(settings, bedrock_client)
    app.state.streams = StreamSlots(settings.max_streams_per_user)
    app.include_router(chat_router)
    app.state.agent_model = ModelHolder(settings)
    if agentcore_available():
        warm_up(app)
    app.include_router(agent_router)
    # AgentCore Runtime's contract (agentcore.py); the load balancer routes only /inference/* here.
    app.state.ping = PingState()
    app.include_router(ping_router)
    app.include_router(agentcore_router)
    return app
