"""inference-api against a fake Bedrock endpoint over real HTTP (AWS_ENDPOINT_URL_BEDROCK_RUNTIME):
keep-alive comments while the model is silent, the upstream connection closed within a second
of the client leaving, a 504 before the load balancer's timeout, and the per-user stream limit.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
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
    silent_listener,
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


def test_keep_alive_comments_flow_while_bedrock_is_silent_for_20_s() -> None:
    with (
        running_bedrock(streaming(20)) as fake,
        running_service(INFERENCE_API, **NO_AUTH, **bedrock_env(fake.url)) as app,
    ):
        conn, response = open_stream(app.url)
        assert response.status == 200
        lines = read_until(response, "event: done")
        conn.close()
    texts = [text for _, text in lines]
    first_delta = next(t for t, text in lines if '"Hel"' in text)
    second_delta = next(t for t, text in lines if '"lo"' in text)
    keepalives = [t for t, text in lines if text == ": keep-alive"]
    assert keepalives and all(first_delta < t < second_delta for t in keepalives)
    gaps = [b - a for a, b in zip([first_delta, *keepalives], [*keepalives, second_delta], strict=True)]
    assert max(gaps) < 16, f"a keep-alive at least every 15 s: gaps {gaps}"
    assert [text for text in texts if text.startswith("event:")] == ["event: delta", "event: delta", "event: done"]


def test_a_client_that_leaves_closes_the_bedrock_connection_within_a_second() -> None:
    with (
        running_bedrock(streaming(60)) as fake,
        running_service(INFERENCE_API, **NO_AUTH, **bedrock_env(fake.url)) as app,
    ):
        conn, response = open_stream(app.url)
        read_until(response, '"Hel"')
        time.sleep(0.3)  # Bedrock is now silent: the relay thread is blocked reading it
        # The response object holds the socket too: shut it down, as a browser tab closing would.
        conn.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
        left = time.monotonic()
        while not fake.closed_at and time.monotonic() - left < 5:
            time.sleep(0.02)
        assert fake.closed_at, "the fake endpoint never saw the connection close"
        assert fake.closed_at[0] - left < 1.0
        assert call(app.url, "GET", "/inference/health").status == 200


@pytest.mark.parametrize("path", ["/inference/chat", "/inference/chat/stream"])
def test_a_silent_bedrock_is_a_504_within_the_deadline(path: str) -> None:
    with silent_listener() as dead:
        env = bedrock_env(dead, BEDROCK_DEADLINE_SECONDS="2")
        with running_service(INFERENCE_API, **NO_AUTH, **env) as app:
            began = time.monotonic()
            answer = call(app.url, "POST", path, USER_HI)
            took = time.monotonic() - began
    assert_error_shape(answer, 504, "upstream_timeout")
    assert 1.9 < took < 4


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
    time.sleep(0.3)
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
