"""Request bodies: a size limit enforced while reading (413), and JSON numbers that must be finite (422).

Python's json module accepts `NaN`, `Infinity` and `1e999` (which overflows to inf); a model
then fails on them and the error answer cannot be encoded, which used to end as a 500. The body
is read here, counted as it arrives (chunked uploads carry no Content-Length), checked, and
replayed to the app; requests without a body (every health check) pass straight through.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import error_bytes

Scope = dict[str, Any]
Message = dict[str, Any]
_BODYLESS = (b"content-length", b"transfer-encoding")
# A declared body up to this size is discarded as it arrives after a 413, keeping the connection;
# a larger one, or a chunked body past the limit, gets the 413 and the connection closed.
DRAIN_LIMIT_BYTES = 64 * 2**20


class NotFinite(ValueError):
    """A JSON number that JSON itself does not allow, or one too large for a float."""


def _reject_constant(name: str) -> Any:
    raise NotFinite(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise NotFinite("a number is out of range")
    return value


def non_finite_problem(body: bytes) -> str | None:
    """Why a JSON body holds a number no model can take, or None (syntax errors are the app's to report)."""
    try:
        json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except NotFinite as exc:
        return f"{exc}: numbers must be finite"
    except json.JSONDecodeError:
        return None
    except ValueError:  # an integer with more digits than Python converts
        return "a number is out of range"
    return None


class BodyGuardMiddleware:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            # A client that sends the whole body before reading (most do) must still get the 413:
            # closing now would reset the connection under it. The server discards what follows.
            await self._refuse(send, 413, "payload_too_large", self._too_large(), close=declared > DRAIN_LIMIT_BYTES)
            return
        body = await self._read(receive)
        if body is None:  # chunked, size unknown: stop reading and close rather than drain forever
            await self._refuse(send, 413, "payload_too_large", self._too_large(), close=True)
            return
        problem = non_finite_problem(body) if body and _is_json(scope) else None
        if problem:
            await self._refuse(send, 422, "invalid_request", problem)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Any) -> bytes | None:
        """The whole body, or None as soon as it passes the limit (the rest is never read)."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_bytes} bytes"

    async def _refuse(self, send: Any, status: int, code: str, message: str, close: bool = False) -> None:
        await send_error(send, status, code, message, close=close)


async def send_error(send: Any, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                     close: bool = False) -> None:
    """The one error shape (errors.error_bytes), answered from pure ASGI code before the app runs."""
    body = error_bytes(code, message)
    raw = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    raw += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    if close:
        raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _has_body(scope: Scope) -> bool:
    return any(name in _BODYLESS for name, _ in scope["headers"])


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return True  # FastAPI parses a body without a Content-Type as JSON too


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, when it comes

    return replay
