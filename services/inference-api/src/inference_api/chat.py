"""POST /inference/chat and /inference/chat/stream, both behind sign-in.

boto3 blocks, so every Bedrock call runs in a worker thread under an overall deadline
(bedrock.within_deadline) and the event loop stays free for health checks. A stream's events
are read in a worker thread too; service_kit.sse relays them with keep-alive comments and
closes the Bedrock stream the moment the client goes away.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from service_kit.auth import caller_of, sign_in
from service_kit.errors import ApiError
from service_kit.jsonlog import request_id_var
from service_kit.sse import EventStreamResponse

from .bedrock import ClientHolder, converse_params, read_converse, relay_stream, shutdown_stream, within_deadline
from .config import Settings
from .failures import UpstreamFailure, classify
from .schemas import ChatRequest, ChatResponse, check_limits
from .streams import RETRY_AFTER_SECONDS, StreamSlots

# Every route here needs a signed-in caller; the health routes come from the kit's own router.
router = APIRouter(prefix="/inference", tags=["chat"], dependencies=[sign_in()])
_FAILURES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bedrock rejected the input"},
    401: {"description": "no valid bearer token"},
    413: {"description": "the body is larger than MAX_BODY_BYTES"},
    429: {"description": "throttled, or too many open streams; retry after Retry-After seconds"},
    502: {"description": "Bedrock failed"},
    503: {"description": "model access not enabled, model not found, or Bedrock unavailable"},
    504: {"description": "Bedrock did not answer within the deadline"},
}


def _prepare(request: Request, body: ChatRequest) -> tuple[ClientHolder, dict[str, Any], Settings]:
    settings: Settings = request.app.state.settings
    check_limits(body, settings)
    return request.app.state.bedrock, converse_params(body, settings), settings


def _call(holder: ClientHolder, operation: str, params: dict[str, Any]) -> Any:
    """In the worker thread: the first call also creates the client, which takes a while."""
    return getattr(holder.get(), operation)(**params)


@router.post("/chat", response_model=ChatResponse, responses=_FAILURES)
async def chat(request: Request, body: ChatRequest) -> ChatResponse:
    holder, params, settings = _prepare(request, body)
    response = await within_deadline(partial(_call, holder, "converse", params), settings.bedrock_deadline_seconds)
    return read_converse(response, settings.bedrock_model_id)


@router.post("/chat/stream", responses={200: {"content": {"text/event-stream": {}}}, **_FAILURES})
async def chat_stream(request: Request, body: ChatRequest) -> EventStreamResponse:
    """Errors before the first byte get a status code; later ones can only be an `error` event."""
    holder, params, settings = _prepare(request, body)
    slots: StreamSlots = request.app.state.streams
    sub = caller_of(request).sub
    if not slots.acquire(sub):
        message = f"at most {slots.per_user} streams may be open at once per user"
        raise ApiError(429, "too_many_streams", message, {"Retry-After": str(RETRY_AFTER_SECONDS)})
    try:
        call = partial(_call, holder, "converse_stream", params)
        stream = (await within_deadline(call, settings.bedrock_deadline_seconds))["stream"]
    except BaseException:
        slots.release(sub)
        raise
    return EventStreamResponse(
        _sse(stream),
        close=partial(shutdown_stream, stream),
        on_end=partial(slots.release, sub),
        headers={"X-Accel-Buffering": "no"},
        keepalive_seconds=settings.sse_keepalive_seconds,
    )


def _sse(stream: Any) -> Iterator[str]:
    try:
        for name, data in relay_stream(stream):
            yield _event(name, data)
    except Exception as exc:  # the status line is gone: every failure becomes an error event
        yield _event("error", _error_body(classify(exc)))
    finally:
        # Also reached when the client goes away: give the HTTP connection back to the pool.
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _error_body(failure: UpstreamFailure) -> dict[str, Any]:
    error = {"code": failure.code, "message": failure.message, "status": failure.status}
    return {"error": {**error, "request_id": request_id_var.get()}}
