"""service_kit.early: the port opens and the health check answers before the application is loaded.

EarlyApp under a real uvicorn (a socket bound to port 0, in this process), with a load the test
holds back: health answers from the start, any other request waits and then reaches the app,
the app's own lifespan runs inside; a load that fails ends the process with status 1. And the
inference-api's early health body is byte for byte what its app answers.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from inference_api.__main__ import _early_health
from inference_api.app import create_app
from inference_api.config import Settings
from service_kit.early import EarlyApp, plain_health_body
from services_testkit import NO_AUTH

BODY = plain_health_body("orders", "1.2.3", "abc123", {"extra": True})


def get(port: int, path: str, timeout: float = 10) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@contextmanager
def serving(app: Any) -> Iterator[tuple[int, uvicorn.Server]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield sock.getsockname()[1], server
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def held_app(release: threading.Event, events: list[str]) -> Any:
    def load() -> FastAPI:
        release.wait(10)
        app = FastAPI(lifespan=lifespan)

        @app.get("/orders")
        def orders() -> dict[str, str]:
            return {"from": "the app"}

        return app

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        events.append("app started")
        yield
        events.append("app stopped")

    return load


def test_health_answers_while_loading_and_other_requests_wait_for_the_app() -> None:
    release, events = threading.Event(), []
    with serving(EarlyApp(held_app(release, events), "/orders/health", BODY)) as (port, _):
        assert get(port, "/orders/health") == (200, BODY)  # the app is not even built yet
        waiting: list[tuple[int, bytes]] = []
        caller = threading.Thread(target=lambda: waiting.append(get(port, "/orders")))
        caller.start()
        time.sleep(0.3)
        assert waiting == [] and events == []  # held until the app is there, not refused
        release.set()
        caller.join(10)
        assert waiting == [(200, b'{"from":"the app"}')]
        assert events == ["app started"]
        assert get(port, "/orders/health")[0] == 404  # from now on the app answers everything
    assert events == ["app started", "app stopped"]  # its lifespan ran inside uvicorn's


def test_a_load_that_fails_ends_the_process_with_status_1() -> None:
    script = (
        "import socket, uvicorn\n"
        "from service_kit.early import EarlyApp\n"
        "def load():\n    raise ImportError('no such framework')\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0))\n"
        "uvicorn.Server(uvicorn.Config(EarlyApp(load, '/h', b'{}'), log_config=None)).run(sockets=[s])\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "the application could not be loaded" in result.stderr + result.stdout
    assert "no such framework" in result.stderr + result.stdout


def test_the_inference_api_early_body_is_what_its_app_answers() -> None:
    settings = Settings.from_env({**NO_AUTH, "IMAGE_TAG": "t1", "BEDROCK_MODEL_ID": "us.anthropic.claude-x-v1:0"})
    path, body = _early_health(settings)
    assert path == "/inference/health"
    assert body == create_app(settings).state.health_body
