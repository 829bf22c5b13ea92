"""service_kit.prelisten: the health check answers on the bound socket before uvicorn is even imported,
and the same socket is then served by uvicorn without losing a connection.

Real sockets on port 0 in this process; the service's own start-up is covered by every test that
runs inference-api under its console script (they wait for this answer first).
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from http_fakes import service_env
from service_kit.prelisten import PreListener, bind, plain_health_body
from services_testkit import bin_dir

BODY = plain_health_body("orders", "1.2.3", "abc123", {"extra": True})


def request(port: int, method: str, path: str, timeout: float = 10) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, path, body=b"{}" if method == "POST" else None)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


@contextmanager
def prelistening(path: str) -> Iterator[int]:
    """A PreListener on a free loopback port, for the length of the block; yields the port."""
    sock = bind("127.0.0.1", 0)
    listener = PreListener(sock, path, BODY).start()
    try:
        yield sock.getsockname()[1]
    finally:
        listener.stop()
        sock.close()


def test_health_answers_with_the_early_body_and_anything_else_is_a_503_in_the_one_shape() -> None:
    with prelistening("/inference/health") as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/inference/health?probe=1")
        health = conn.getresponse()
        assert (health.status, health.read(), health.getheader("content-type")) == (200, BODY, "application/json")
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/inference/chat", body=b"{}")
        busy = conn.getresponse()
        error = busy.read()
        assert busy.status == 503 and busy.getheader("retry-after") == "1"
        assert b'"code":"unavailable"' in error and busy.getheader("x-request-id").encode() in error
        conn.close()
        assert request(port, "POST", "/inference/health").status == 503  # only GET is the health check


def test_a_client_that_sends_nothing_does_not_hold_the_listener() -> None:
    with prelistening("/health") as port, socket.create_connection(("127.0.0.1", port)):  # connected, silent
        started = time.monotonic()
        assert request(port, "GET", "/health").status == 200
        assert time.monotonic() - started < 5


def test_after_stop_uvicorn_serves_the_same_socket_and_the_waiting_connection() -> None:
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    listener = PreListener(sock, "/health", BODY).start()
    assert request(port, "GET", "/health").status == 200
    listener.stop()
    # Connected after the listener stopped and before uvicorn runs: it waits in the backlog.
    waiting = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    waiting.connect()

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"uvicorn"})

    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        waiting.request("GET", "/anything")
        answer = waiting.getresponse()
        assert (answer.status, answer.read()) == (200, b"uvicorn")
    finally:
        waiting.close()
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_a_taken_port_is_one_log_line_and_exit_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = service_env(taken.getsockname()[1], AUTH_DISABLED="1")
        result = subprocess.run([str(bin_dir() / "inference-api")], env=env, capture_output=True, text=True,
                                timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    [line] = [x for x in result.stdout.splitlines() if "cannot listen" in x]
    assert json.loads(line)["level"] in ("CRITICAL", "critical")
