"""The Amazon Bedrock AgentCore Runtime contract: `POST /invocations` and `GET /ping`, on PORT.

bedrock-agentcore's BedrockAgentCoreApp is a Starlette app of its own; mounting it would put the
agent beside, not behind, the kit's sign-in, limits and error shape. So this app answers the
same wire contract itself: /ping says `Healthy` (or `HealthyBusy` while a run is open) with the
time of the last change, and /invocations takes the agent's JSON body ({"prompt", "session_id"})
with the runtime's session header as the session id when the body names none. The answer is the
agent's: server-sent events, or JSON with `?stream=false` / `Accept: application/json`.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from service_kit.auth import sign_in

from .agent import AgentRequest, agent
from .sessions import SESSION_ID
from .streams import StreamSlots

# The header AgentCore Runtime puts the runtime session id in (bedrock_agentcore.runtime.models.SESSION_HEADER).
SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
HEALTHY, BUSY = "Healthy", "HealthyBusy"

ping_router = APIRouter(tags=["agentcore"])
router = APIRouter(tags=["agentcore"], dependencies=[sign_in()])


class PingState:
    def __init__(self) -> None:
        self.status = HEALTHY
        self.changed = int(time.time())

    def observe(self, busy: bool) -> str:
        status = BUSY if busy else HEALTHY
        if status != self.status:
            self.status, self.changed = status, int(time.time())
        return status


@ping_router.get("/ping")
async def ping(request: Request) -> dict[str, Any]:
    state: PingState = request.app.state.ping
    slots: StreamSlots = request.app.state.streams
    return {"status": state.observe(slots.busy()), "time_of_last_update": state.changed}


@router.post("/invocations", responses={200: {"content": {"text/event-stream": {}}}})
async def invocations(request: Request, body: AgentRequest, stream: bool = True) -> Any:
    header = request.headers.get(SESSION_HEADER) or ""
    sessions_on = bool(request.app.state.settings.agent.session_bucket)
    if body.session_id is None and sessions_on and SESSION_ID.fullmatch(header):
        body = body.model_copy(update={"session_id": header})
    return await agent(request, body, stream)
