"""inference-api against a fake Bedrock endpoint over real HTTP (AWS_ENDPOINT_URL_BEDROCK_RUNTIME):
keep-alive comments while the model is silent (at a short SSE_KEEPALIVE_SECONDS), the upstream
connection closed within a second of the client leaving, a 504 before the load balancer's
timeout, and the per-user stream limit.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from http_fakes import (
    AUDIENCE,
    FakeBedrock,
    Issuer,
    Running,
    SigningKey,
    assert_error_shape,
    call,
    end_event_stream,
    hold,
    running_bedrock,
    running_issuer,
    running_service,
    send_frame,
    start_event_stream,
)
from services_testkit import INFERENCE_API, NO_AUTH, stream_event, stream_exception

USER_HI = {"messages": [{"role": "user", "content": "Hi"}]}
FIRST = [
    stream_event("messageStart", {"role": "assistant"}),
    stream_event("contentBlockDelta", {"delta": {"text": "Hel"}}),
]
REST = [
    stream_event("contentBlockDelta", {"delta": {"text": "lo"}}),
    stream_event("messageStop", {"stopReason": "end_turn"}),
    stream_event("metadata", {"usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}}),
]


def open_stream(url: str, token: str | None = None) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    conn.request("POST", "/inference/chat/stream", body=json.dumps(USER_HI), headers=headers)
    return conn, conn.getresponse()


def read_until(response: http.client.HTTPResponse, needle: str) -> list[tuple[float, str]]:
    """Lines with the time each arrived, up to and including the first containing `needle`."""
    lines = []
    while True:
        line = response.readline().decode()
        if not line:
            raise AssertionError(f"stream ended before {needle!r}: {lines}")
        lines.append((time.monotonic(), line.rstrip("\n")))
        if needle in line:
            return lines


def streaming(hold_seconds: float, then: list[bytes] = REST) -> Any:
    def script(fake: FakeBedrock, handler: BaseHTTPRequestHandler) -> None:
        start_event_stream(handler)
        for frame in FIRST:
            send_frame(handler, frame)
        if hold(fake, handler, hold_seconds):
            for frame in then:
                send_frame(handler, frame)
            end_event_stream(handler)

    return script


def bedrock_env(fake_url: str, **extra: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": fake_url, "BEDROCK_MAX_ATTEMPTS": "1", **extra}


def silent_until(release: threading.Event) -> Any:
    """Bedrock sends the first frames, then says nothing until the test has seen what it waits for
    (or the client leaves: `hold` records when)."""

    def script(fake: FakeBedrock, handler: BaseHTTPRequestHandler) -> None:
        start_event_stream(handler)
        for frame in FIRST:
            send_frame(handler, frame)
        deadline = time.monotonic() + 30
        while not release.is_set() and time.monotonic() < deadline:
            if not hold(fake, handler, 0.05):
                return
        for frame in REST:
            send_frame(handler, frame)
        end_event_stream(handler)

    return script


def never_answers(fake: FakeBedrock, handler: BaseHTTPRequestHandler) -> None:
    """A hung Bedrock: the request was read, no status line ever comes."""
    hold(fake, handler, 30)


@dataclass
class Upstream:
    app: Running
    fake: FakeBedrock

    def answer_with(self, script: Callable[[FakeBedrock, BaseHTTPRequestHandler], None]) -> FakeBedrock:
        return self.fake.answer_with(script)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    """One service for the tests below, which only change what the fake Bedrock answers:
    keep-alive comments every 0.2 s (the 15 s default: test_timeouts_agree.py) and a 1 s deadline."""
    with running_bedrock(streaming(0)) as fake:
        env = bedrock_env(fake.url, SSE_KEEPALIVE_SECONDS="0.2", BEDROCK_DEADLINE_SECONDS="1")
        with running_service(INFERENCE_API, **NO_AUTH, **env) as app:
            warm_up(app.url)
            yield Upstream(app, fake)


def warm_up(url: str) -> None:
    """The Bedrock client is made on the first call, inside that call's deadline: on a busy machine
    that alone can pass 1 s. Call until one answer came, so each test's deadline counts Bedrock only."""
    deadline = time.monotonic() + 30
    while call(url, "POST", "/inference/chat/stream", USER_HI).status != 200:
        assert time.monotonic() < deadline, "the service never answered a chat"


def test_keep_alive_comments_flow_while_bedrock_is_silent(upstream: Upstream) -> None:
    """Bedrock stays silent until three comments came through: the test waits on them, not on a clock."""
    release = threading.Event()
    upstream.answer_with(silent_until(release))
    conn, response = open_stream(upstream.app.url)
    assert response.status == 200
    before = read_until(response, '"Hel"')
    silent = [read_until(response, ": keep-alive") for _ in range(3)]
    release.set()
    after = read_until(response, "event: done")
    conn.close()
    assert {text for lines in silent for _, text in lines} == {"", ": keep-alive"}, "only comments meanwhile"
    comments = [lines[-1][0] for lines in silent]
    gaps = [b - a for a, b in zip(comments, comments[1:], strict=False)]
    # At most one comment per interval (a lower bound no busy machine can break), and they keep coming.
    assert all(0.1 < gap < 5 for gap in gaps), gaps
    events = [text for _, text in before + after if text.startswith("event:")]
    assert events == ["event: delta", "event: delta", "event: done"]
    assert '"lo"' in "".join(text for _, text in after)


def test_a_client_that_leaves_closes_the_bedrock_connection_within_a_second(upstream: Upstream) -> None:
    fake = upstream.answer_with(silent_until(threading.Event()))
    conn, response = open_stream(upstream.app.url)
    read_until(response, '"Hel"')
    # A comment after the delta: Bedrock is silent and the relay thread is blocked reading it.
    read_until(response, ": keep-alive")
    # The response object holds the socket too: shut it down, as a browser tab closing would.
    conn.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
    left = time.monotonic()
    while not fake.closed_at and time.monotonic() - left < 5:
        time.sleep(0.02)
    assert fake.closed_at, "the fake endpoint never saw the connection close"
    assert fake.closed_at[0] - left < 1.0
    assert call(upstream.app.url, "GET", "/inference/health").status == 200


@pytest.mark.parametrize("path", ["/inference/chat", "/inference/chat/stream"])
def test_a_silent_bedrock_is_a_504_within_the_deadline(upstream: Upstream, path: str) -> None:
    upstream.answer_with(never_answers)
    began = time.monotonic()
    answer = call(upstream.app.url, "POST", path, USER_HI)
    took = time.monotonic() - began
    assert_error_shape(answer, 504, "upstream_timeout")
    assert 0.95 < took < 3


def answers_200(body: bytes) -> Any:
    def script(fake: FakeBedrock, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return script


@pytest.mark.parametrize("script", [streaming(0), answers_200(b'{"output": {}}'), answers_200(b"<html>proxy</html>")],
                         ids=["event-stream", "json-without-output", "html"])
def test_an_odd_200_to_a_plain_chat_is_a_502_in_the_one_shape(upstream: Upstream, script: Any) -> None:
    """Bedrock (or a proxy) answers /chat's Converse with ConverseStream's event stream, or with a body
    that is not a Converse answer: not our fault, so not a 500, and nothing of the odd body in the answer."""
    upstream.answer_with(script)
    answer = call(upstream.app.url, "POST", "/inference/chat", USER_HI)
    error = assert_error_shape(answer, 502, "upstream_error")
    assert error["message"] == "Bedrock answered in an unexpected shape"
    assert b"proxy" not in answer.body


# --- per-user stream limit ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited() -> Iterator[tuple[Running, Issuer, dict[str, Any]]]:
    mode: dict[str, Any] = {"hold": 30.0, "reject": False}

    def script(fake: FakeBedrock, handler: BaseHTTPRequestHandler) -> None:
        if mode["reject"]:
            body = b'{"message": "bad input"}'
            handler.send_response(400)
            handler.send_header("x-amzn-ErrorType", "ValidationException")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        streaming(mode["hold"], REST if mode["hold"] < 30 else [stream_exception("throttlingException", "x")])(
            fake, handler
        )

    with running_issuer(SigningKey("k")) as issuer, running_bedrock(script) as fake:
        env = {
            **bedrock_env(fake.url),
            "AUTH_ISSUER": issuer.url,
            "AUTH_AUDIENCE": AUDIENCE,
            "MAX_STREAMS_PER_USER": "1",
        }
        with running_service(INFERENCE_API, **env) as app:
            yield app, issuer, mode


def test_streams_per_user_are_limited_and_released_on_disconnect(
    limited: tuple[Running, Issuer, dict[str, Any]],
) -> None:
    app, issuer, mode = limited
    mode.update(hold=30.0, reject=False)
    alice, bob = issuer.token(sub="alice"), issuer.token(sub="bob")
    first, response = open_stream(app.url, alice)
    assert response.status == 200
    read_until(response, '"Hel"')
    second = call(app.url, "POST", "/inference/chat/stream", USER_HI, token=alice)
    assert_error_shape(second, 429, "too_many_streams")
    assert second.headers["retry-after"] == "5"
    other, other_response = open_stream(app.url, bob)
    assert other_response.status == 200, "the limit is per user"
    other.close()
    first.close()
    # The service notices the disconnect on its own schedule: ask again until the slot is back (a
    # polled condition with a deadline; a 429 meanwhile takes no slot), not after a guessed delay.
    deadline = time.monotonic() + 15
    while True:
        again, again_response = open_stream(app.url, alice)
        if again_response.status == 200 or time.monotonic() > deadline:
            break
        again.close()
        time.sleep(0.05)
    assert again_response.status == 200, "a disconnect gives the slot back"
    again.close()


def test_stream_slots_are_released_on_completion_and_on_errors(limited: tuple[Running, Issuer, dict[str, Any]]) -> None:
    app, issuer, mode = limited
    token = issuer.token(sub="carol")
    mode.update(hold=0.0, reject=False)
    for _ in range(2):
        answer = call(app.url, "POST", "/inference/chat/stream", USER_HI, token=token)
        assert answer.status == 200 and b"event: done" in answer.body
    mode.update(reject=True)
    for _ in range(2):
        assert_error_shape(
            call(app.url, "POST", "/inference/chat/stream", USER_HI, token=token), 400, "invalid_request"
        )
    mode.update(reject=False, hold=0.0)
    assert call(app.url, "POST", "/inference/chat/stream", USER_HI, token=token).status == 200
