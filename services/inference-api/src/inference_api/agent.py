"""POST /inference/agent: a strands agent with the configured tools, streamed as server-sent events.

Events: `delta` {text}, `tool_start` {id, name, input}, `tool_result` {id, name, status, summary,
duration_ms}, then `done` {stop_reason, usage, session_id} or `error` {error: {...}}.
`?stream=false` (or `Accept: application/json` without text/event-stream) answers one JSON body.
Failures before the first event get a status code and the service's one error shape.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from functools import partial
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, field_validator
from service_kit.auth import caller_of, sign_in
from service_kit.errors import ApiError
from service_kit.jsonlog import request_id_var
from service_kit.sse import EventStreamResponse

from .agent_runner import AgentRun, Event
from .config import Settings
from .failures import UpstreamFailure
from .features import agentcore_available
from .sessions import SESSION_ID, SESSION_ID_RULE, session_factory
from .streams import RETRY_AFTER_SECONDS, StreamSlots

router = APIRouter(prefix="/inference", tags=["agent"], dependencies=[sign_in()])


class AgentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1)
    session_id: str | None = Field(default=None, description=SESSION_ID_RULE)

    @field_validator("prompt")
    @classmethod
    def not_blank(cls, prompt: str) -> str:
        if not prompt.strip():
            raise ValueError("prompt must not be blank")
        return prompt

    @field_validator("session_id")
    @classmethod
    def session_id_shape(cls, session_id: str | None) -> str | None:
        if session_id is not None and not SESSION_ID.fullmatch(session_id):
            raise ValueError(f"session_id must be {SESSION_ID_RULE}")
        return session_id


class AgentResponse(BaseModel):
    text: str
    tools: list[dict[str, Any]]
    stop_reason: str | None
    usage: dict[str, int]
    session_id: str | None = None


def wants_json(request: Request, stream: bool) -> bool:
    accept = request.headers.get("accept", "")
    return not stream or ("application/json" in accept and "text/event-stream" not in accept)


@router.post("/agent", response_model=AgentResponse,
             responses={200: {"content": {"text/event-stream": {}}}, 422: {"description": "bad prompt or session id"}})
async def agent(request: Request, body: AgentRequest, stream: bool = True) -> Any:
    settings: Settings = request.app.state.settings
    run, release = await start_run(request, body, settings)
    try:
        first = await _first_event(run, settings.bedrock_deadline_seconds)
    except BaseException:
        run.close()
        release()
        raise
    if wants_json(request, stream):
        try:
            return await anyio.to_thread.run_sync(_collect, run, first, body.session_id)
        finally:
            release()
    rid = request_id_var.get()
    return EventStreamResponse(_sse(run, first, body.session_id, rid), close=run.close, on_end=release,
                               headers={"X-Accel-Buffering": "no"}, keepalive_seconds=settings.sse_keepalive_seconds)


async def start_run(request: Request, body: AgentRequest, settings: Settings) -> tuple[AgentRun, Any]:
    if not agentcore_available():
        raise ApiError(503, "agent_unavailable", "the agent is not installed in this image (extra `agentcore`)")
    _check_prompt(body.prompt, settings)
    if body.session_id is not None and not settings.agent.session_bucket:
        raise ApiError(400, "sessions_unavailable", "sessions are not configured on this service (SESSION_BUCKET)")
    slots: StreamSlots = request.app.state.streams
    sub = caller_of(request).sub
    if not slots.acquire(sub):
        message = f"at most {slots.per_user} agent runs or streams may be open at once per user"
        raise ApiError(429, "too_many_streams", message, {"Retry-After": str(RETRY_AFTER_SECONDS)})
    release = partial(slots.release, sub)
    session = None
    if body.session_id is not None:
        region = settings.aws_region or settings.bedrock_region
        session = session_factory(settings.agent, region, sub, body.session_id)
    try:
        model = await anyio.to_thread.run_sync(request.app.state.agent_model.get)
    except BaseException:
        release()
        raise
    impls = getattr(request.app.state, "agent_tool_impls", None)
    return AgentRun(settings, model, body.prompt, session, impls).start(), release


def _check_prompt(prompt: str, settings: Settings) -> None:
    limit = min(settings.max_message_chars, settings.bedrock_max_input_chars)
    if len(prompt) > limit:
        raise RequestValidationError([{"type": "limit_exceeded", "loc": ("body", "prompt"),
                                       "msg": f"String should have at most {limit} characters"}])


async def _first_event(run: AgentRun, seconds: float) -> Event:
    try:
        first = await anyio.to_thread.run_sync(run.next_event, seconds, abandon_on_cancel=True)
    except queue.Empty:
        raise UpstreamFailure(504, "upstream_timeout", "Bedrock did not answer in time") from None
    if first[0] == "error":
        raise _failure(first[1])
    return first


def _failure(data: dict[str, Any]) -> UpstreamFailure:
    retry = 2 if data["status"] == 429 else None
    return UpstreamFailure(data["status"], data["code"], data["message"], retry)


def _collect(run: AgentRun, first: Event, session_id: str | None) -> AgentResponse:
    text: list[str] = []
    tools: list[dict[str, Any]] = []
    done: dict[str, Any] = {}
    for name, data in run.events(first):
        if name == "delta":
            text.append(data["text"])
        elif name == "tool_result":
            tools.append(data)
        elif name == "error":
            raise _failure(data)
        elif name == "done":
            done = data
    return AgentResponse(text="".join(text), tools=tools, stop_reason=done.get("stop_reason"),
                         usage=done.get("usage") or {}, session_id=session_id)


def _sse(run: AgentRun, first: Event, session_id: str | None, request_id: str | None) -> Iterator[str]:
    for name, data in run.events(first):
        if name == "error":
            data = {"error": {**data, "request_id": request_id}}
        elif name == "done":
            data = {**data, "session_id": session_id}
        yield f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"
