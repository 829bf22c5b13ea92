"""Listen first, load the application after: the health check answers a moment after the process starts.

FastAPI, pydantic and a service's routes take about a second of CPU to import; with the machine's
cores busy (a deploy rolling several tasks, a noisy neighbour) that became 2-5 s before the port
even opened, and a load balancer or container health check that gives up early kills the task.
`EarlyApp` is what uvicorn serves instead (and before uvicorn itself is imported, prelisten.py
answers on the bound port). From then on `GET <health path>` is answered with the
body the application itself will answer (the same fields, encoded the same way; a test compares
them) while the application is imported and built in a worker thread; every other request waits
for it (at most the load time) and then goes to it. The application's own lifespan runs inside
this one, so its start-up (readiness, the "started" line) and shutdown are unchanged. If loading
fails the process logs why and exits with status 1, as a failed start-up would.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

from .prelisten import plain_health_body

__all__ = ["EarlyApp", "plain_health_body"]

log = logging.getLogger("startup")

Scope = dict[str, Any]
Message = dict[str, Any]


class EarlyApp:
    """Pure ASGI: answers `GET health_path` at once, loads `load()` in a thread, then hands everything to it."""

    def __init__(self, load: Callable[[], Any], health_path: str, health_body: bytes) -> None:
        self._load = load
        self._health_path = health_path
        self._health_body = health_body
        self._headers = [(b"content-length", b"%d" % len(health_body)), (b"content-type", b"application/json")]
        self._app: Any = None
        self._loaded = asyncio.Event()
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan_task: asyncio.Task[None] | None = None
        self._starting: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if self._app is None:
            if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == self._health_path:
                await send({"type": "http.response.start", "status": 200, "headers": self._headers})
                await send({"type": "http.response.body", "body": self._health_body})
                return
            await self._loaded.wait()
        await self._app(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Any, send: Any) -> None:
        await receive()  # lifespan.startup: the port opens as soon as this completes
        self._starting = asyncio.create_task(self._start(scope))
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown: uvicorn has stopped accepting and drained requests
        await self._starting
        if self._lifespan_task is not None:
            await self._inbox.put({"type": "lifespan.shutdown"})
            await self._outbox.get()
            await self._lifespan_task
        await send({"type": "lifespan.shutdown.complete"})

    async def _start(self, scope: Scope) -> None:
        try:
            app = await asyncio.to_thread(self._load)
            # The application's lifespan, driven as uvicorn would; its state is uvicorn's, so
            # requests see what it stores there.
            inner = {"type": "lifespan", "asgi": scope.get("asgi", {"version": "3.0"}), "state": scope.get("state", {})}
            self._lifespan_task = asyncio.create_task(app(inner, self._inbox.get, self._outbox.put))
            await self._inbox.put({"type": "lifespan.startup"})
            answer = await self._outbox.get()
            if answer["type"] != "lifespan.startup.complete":
                raise RuntimeError(answer.get("message") or "the application's start-up failed")
        except Exception:
            log.critical("the application could not be loaded", exc_info=True)
            logging.shutdown()
            os._exit(1)  # the port is open already: a half-started process must not linger
        self._app = app
        self._loaded.set()
