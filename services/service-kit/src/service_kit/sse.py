"""Server-sent events from a blocking source: keep-alive comments, and the source closed on disconnect.

The source (a Bedrock stream) blocks a worker thread between events. While it is silent a
`: keep-alive` comment goes out every KEEPALIVE_SECONDS, so neither the ALB nor CloudFront
(60 s idle timeouts) drops a model that is still thinking. When the client goes away, `close`
runs at once (not when the next event arrives), so the upstream stops and stops being billed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import anyio.to_thread
from starlette.responses import StreamingResponse

KEEPALIVE_SECONDS = 15.0
KEEPALIVE = b": keep-alive\n\n"
_END = object()


class EventStreamResponse(StreamingResponse):
    """`events` yields encoded SSE blocks; `close` stops the source (may run while a thread reads it);
    `on_end` runs once the response is over, however it ended (completion, error, disconnect)."""

    def __init__(
        self,
        events: Iterator[str],
        close: Callable[[], None],
        on_end: Callable[[], None] | None = None,
        headers: Mapping[str, str] | None = None,
        keepalive_seconds: float = KEEPALIVE_SECONDS,
    ) -> None:
        super().__init__(
            iter(()), media_type="text/event-stream", headers={**(headers or {}), "Cache-Control": "no-cache"}
        )
        self._events = events
        self._close = close
        self._on_end = on_end
        self._keepalive = keepalive_seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            if await self._relay(send, gone):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the client went away while we wrote
            pass
        finally:
            gone.cancel()
            self._close()
            if self._on_end is not None:
                self._on_end()

    async def _relay(self, send: Any, gone: asyncio.Future[None]) -> bool:
        """Relay until the source ends (True) or the client disconnects (False)."""
        pending: asyncio.Future[Any] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(_next_in_thread(self._events))
                done, _ = await asyncio.wait({pending, gone}, timeout=self._keepalive, return_when="FIRST_COMPLETED")
                if gone in done:
                    return False
                if pending not in done:
                    await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
                    continue
                item, pending = pending.result(), None
                if item is _END:
                    return True
                await send({"type": "http.response.body", "body": item.encode(), "more_body": True})
        finally:
            if pending is not None:
                pending.cancel()  # abandons the thread; close() makes its read return


async def _next_in_thread(events: Iterator[str]) -> Any:
    return await anyio.to_thread.run_sync(next, events, _END, abandon_on_cancel=True)


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
