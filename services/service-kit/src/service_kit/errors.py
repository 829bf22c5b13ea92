"""One error shape for every failure a client can see: `{"error": {"code", "message", "request_id"}}`.

FastAPI's own answers (validation errors, 404, 405) echo the whole input in `detail`; here they
are rewritten so a message carries at most a short excerpt of what the caller sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from .jsonlog import request_id_var

MAX_MESSAGE_CHARS = 300
_MAX_LOC_PART = 40
_SHOWN_ERRORS = 3
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    502: "upstream_error",
    503: "unavailable",
    504: "upstream_timeout",
}


class ApiError(Exception):
    """Raise from a route or dependency; answered in the one shape, with `headers` added."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def short(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def error_bytes(code: str, message: str) -> bytes:
    body = {"error": {"code": code, "message": short(message), "request_id": request_id_var.get()}}
    return json.dumps(body, separators=(",", ":")).encode()


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(error_bytes(code, message), status, headers=dict(headers or {}), media_type="application/json")


def validation_message(errors: Sequence[Any]) -> str:
    """`body.messages.0.content: String should have at most 50 characters; ...`, never the input."""
    parts = []
    for error in errors[:_SHOWN_ERRORS]:
        loc = ".".join(str(part)[:_MAX_LOC_PART] for part in error.get("loc", ()))
        parts.append(f"{loc}: {error.get('msg', 'invalid')}" if loc else str(error.get("msg", "invalid")))
    if len(errors) > _SHOWN_ERRORS:
        parts.append(f"and {len(errors) - _SHOWN_ERRORS} more")
    return "; ".join(parts) or "invalid request"


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)  # registered for ApiError only
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, code, str(exc.detail), exc.headers)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, CODES[422], validation_message(exc.errors()))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
