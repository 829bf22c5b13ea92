"""Request ids and one access-log line per request, as a pure ASGI middleware.

Pure ASGI rather than Starlette's BaseHTTPMiddleware: the latter adds a task and a memory
stream per request, which costs a large share of the load balancer's health-check budget.
"""

from __future__ import annotations

import logging
import os
import re
import time
from contextvars import ContextVar
from typing import Any

from .errors import error_bytes
from .jsonlog import request_id_var

Scope = dict[str, Any]
Message = dict[str, Any]

log = logging.getLogger("access")
# Ids from the caller are echoed into logs and headers, so only a safe, short shape is honoured.
_SAFE_ID = re.compile(rb"[A-Za-z0-9._:/+=-]{1,128}")
# What a request learns about itself for its access line (the caller's `sub`); a dict, so that a
# dependency running in a copied context (a worker thread) still writes into this request's line.
_extra_var: ContextVar[dict[str, str] | None] = ContextVar("access_extra", default=None)


def note_caller(sub: str) -> None:
    """Put the signed-in caller's subject on this request's access line."""
    extra = _extra_var.get()
    if extra is not None:
        extra["sub"] = sub[:128]


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"x-request-id" and _SAFE_ID.fullmatch(value):
            return value.decode("ascii")
    return os.urandom(16).hex()  # uuid4's randomness without building a UUID object per request


class AccessLogMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(scope["headers"])
        token = request_id_var.set(request_id)
        extra: dict[str, str] = {}
        extra_token = _extra_var.set(extra)
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")
            if status:  # the response has begun: only dropping the connection is left
                raise
            await _send_internal_error(send_with_id)
        finally:
            _log_access(scope, status or 500, started, extra)
            _extra_var.reset(extra_token)
            request_id_var.reset(token)


async def _send_internal_error(send: Any) -> None:
    body = error_bytes("internal_error", "internal server error")
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _log_access(scope: Scope, status: int, started: float, extra: dict[str, str]) -> None:
    fields: dict[str, Any] = {
        **extra,
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if not log.isEnabledFor(logging.INFO):
        return
    # makeRecord + handle is what log.info does minus findCaller, which walks the stack to name a
    # source file and line the JSON line never prints: a third of the access line's cost.
    log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "%s %s %d",
                              (fields["method"], fields["path"], status), None, extra={"fields": fields}))
