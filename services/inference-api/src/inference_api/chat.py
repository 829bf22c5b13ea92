"""POST /inference/chat and /inference/chat/stream.

Handlers are plain `def`: boto3 blocks, so FastAPI runs them (and the stream's iterator) in
its thread pool and the event loop stays free for health checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from service_kit.jsonlog import request_id_var

from .bedrock import converse_params, read_converse, relay_stream
from .config import Settings
from .errors import UpstreamFailure, classify
from .schemas import ChatRequest, ChatResponse, check_sizes

router = APIRouter(prefix="/inference", tags=["chat"])
_FAILURES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bedrock rejected the input"},
    429: {"description": "throttled; retry after Retry-After seconds"},
    502: {"description": "Bedrock failed"},
    503: {"description": "model access not enabled, model not found, or Bedrock unavailable"},
    504: {"description": "Bedrock timed out"},
}


def _prepare(request: Request, body: ChatRequest) -> tuple[Any, dict[str, Any], Settings]:
    settings: Settings = request.app.state.settings
    check_sizes(body, settings.max_message_chars)
    return request.app.state.bedrock.get(), converse_params(body, settings), settings


@router.post("/chat", response_model=ChatResponse, responses=_FAILURES)
def chat(request: Request, body: ChatRequest) -> ChatResponse:
    client, params, settings = _prepare(request, body)
    try:
        response = client.converse(**params)
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from exc
    return read_converse(response, settings.bedrock_model_id)


@router.post("/chat/stream", responses={200: {"content": {"text/event-stream": {}}}, **_FAILURES})
def chat_stream(request: Request, body: ChatRequest) -> StreamingResponse:
    """Errors before the first byte get a status code; later ones can only be an `error` event."""
    client, params, _ = _prepare(request, body)
    try:
        response = client.converse_stream(**params)
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from exc
    return StreamingResponse(
        _sse(response["stream"]),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
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


def failure_response(_: Request, exc: Exception) -> JSONResponse:
    """Exception handler for UpstreamFailure: a clear JSON body, never a stack trace."""
    if not isinstance(exc, UpstreamFailure):  # registered for UpstreamFailure only
        raise exc
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    body = _error_body(exc)
    del body["error"]["status"]
    return JSONResponse(body, status_code=exc.status, headers=headers)
