"""POST /inference/chat/stream, and the timeouts, through a real bedrock-runtime client.

Stubber cannot carry an event stream: its response validator wants a dict for the `stream`
member. So these tests answer one level lower, at botocore's `before-send` hook, with the
bytes Bedrock puts on the wire (application/vnd.amazon.eventstream frames). The request is
serialized, signed and the answer parsed by botocore exactly as in production.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import urllib3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from fastapi.testclient import TestClient
from inference_api.app import create_app
from inference_api.bedrock import make_client
from inference_api.config import DEFAULT_MODEL_ID, Settings
from services_testkit import OPEN, RawEventStream, stream_event, stream_exception

USER_HI = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 50}
HAPPY_FRAMES = [
    stream_event("messageStart", {"role": "assistant"}),
    stream_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hel"}}),
    stream_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "lo"}}),
    stream_event("contentBlockStop", {"contentBlockIndex": 0}),
    stream_event("messageStop", {"stopReason": "end_turn"}),
    stream_event(
        "metadata", {"usage": {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7}, "metrics": {"latencyMs": 99}}
    ),
]

Answer = Callable[[AWSPreparedRequest], AWSResponse]


class Wire:
    """Records each request botocore sends and answers it with the next queued behaviour."""

    def __init__(self) -> None:
        self.requests: list[AWSPreparedRequest] = []
        self.answers: list[Answer] = []

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        self.requests.append(request)
        return self.answers.pop(0)(request)


def event_stream(raw: RawEventStream) -> Answer:
    headers = {"content-type": "application/vnd.amazon.eventstream", "x-amzn-requestid": "req-1"}
    return lambda request: AWSResponse(request.url, 200, headers, raw)


def raising(exc: Exception) -> Answer:
    def answer(_: AWSPreparedRequest) -> AWSResponse:
        raise exc

    return answer


def _app(settings: Settings, wire: Wire) -> TestClient:
    client = make_client(settings)
    client.meta.events.register("before-send.bedrock-runtime", wire)
    return TestClient(create_app(settings, bedrock_client=client))


@pytest.fixture
def wire(aws_credentials: None) -> Iterator[tuple[TestClient, Wire]]:
    recorder = Wire()
    with _app(Settings(auth=OPEN, bedrock_max_attempts=1), recorder) as client:
        yield client, recorder


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_stream_relays_deltas_then_done(wire: tuple[TestClient, Wire]) -> None:
    client, recorder = wire
    raw = RawEventStream(HAPPY_FRAMES)
    recorder.answers.append(event_stream(raw))
    response = client.post("/inference/chat/stream", json=USER_HI)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert sse(response.text) == [
        ("delta", {"text": "Hel"}),
        ("delta", {"text": "lo"}),
        (
            "done",
            {
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
                "latency_ms": 99,
            },
        ),
    ]
    assert raw.closed, "the HTTP connection goes back to the pool"


def test_stream_request_is_a_signed_converse_stream_call(wire: tuple[TestClient, Wire]) -> None:
    client, recorder = wire
    recorder.answers.append(event_stream(RawEventStream(HAPPY_FRAMES)))
    client.post("/inference/chat/stream", json={**USER_HI, "system": "Be brief.", "temperature": 0.3})
    request = recorder.requests[0]
    assert request.method == "POST"
    model = DEFAULT_MODEL_ID.replace(":", "%3A")  # the model id is a URI path label
    assert request.url == f"https://bedrock-runtime.us-east-1.amazonaws.com/model/{model}/converse-stream"
    assert request.headers["Authorization"].startswith(b"AWS4-HMAC-SHA256 Credential=AKIATESTTESTTESTTEST/")
    assert json.loads(request.body) == {
        "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 50, "temperature": 0.3},
    }


def test_exception_mid_stream_becomes_an_error_event(wire: tuple[TestClient, Wire]) -> None:
    client, recorder = wire
    frames = [*HAPPY_FRAMES[:2], stream_exception("throttlingException", "Too many tokens, slow down")]
    recorder.answers.append(event_stream(RawEventStream(frames)))
    response = client.post("/inference/chat/stream", json=USER_HI, headers={"X-Request-ID": "rid-s"})
    assert response.status_code == 200  # already sent when the failure arrived
    assert sse(response.text) == [
        ("delta", {"text": "Hel"}),
        (
            "error",
            {
                "error": {
                    "code": "throttled",
                    "message": "Bedrock is throttling requests; retry later",
                    "status": 429,
                    "request_id": "rid-s",
                }
            },
        ),
    ]


def test_connection_lost_mid_stream_becomes_a_timeout_event(wire: tuple[TestClient, Wire]) -> None:
    client, recorder = wire
    timeout = urllib3.exceptions.ReadTimeoutError(None, "/", "Read timed out.")  # type: ignore[arg-type]
    recorder.answers.append(event_stream(RawEventStream(HAPPY_FRAMES[:3], fail_with=timeout)))
    events = sse(client.post("/inference/chat/stream", json=USER_HI).text)
    assert [name for name, _ in events] == ["delta", "delta", "error"]
    assert events[-1][1]["error"]["code"] == "upstream_timeout" and events[-1][1]["error"]["status"] == 504


def test_failure_before_the_stream_is_an_http_error(aws_credentials: None) -> None:
    settings = Settings(auth=OPEN)
    client = make_client(settings)
    with Stubber(client) as stubber, TestClient(create_app(settings, bedrock_client=client)) as test_client:
        stubber.add_client_error("converse_stream", "AccessDeniedException", "no", 403)
        response = test_client.post("/inference/chat/stream", json=USER_HI)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "model_access_denied"


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (ReadTimeoutError(endpoint_url="https://bedrock-runtime"), 504, "upstream_timeout"),
        (EndpointConnectionError(endpoint_url="https://bedrock-runtime"), 502, "upstream_unreachable"),
    ],
)
@pytest.mark.parametrize("path", ["/inference/chat", "/inference/chat/stream"])
def test_network_failures_are_mapped(
    wire: tuple[TestClient, Wire], path: str, exc: Exception, status: int, code: str
) -> None:
    client, recorder = wire
    recorder.answers.append(raising(exc))
    response = client.post(path, json=USER_HI)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_timeouts_are_retried_before_giving_up(aws_credentials: None) -> None:
    """The production client retries (adaptive mode); BEDROCK_MAX_ATTEMPTS bounds the attempts."""
    recorder = Wire()
    recorder.answers = [raising(ReadTimeoutError(endpoint_url="https://bedrock-runtime"))] * 2
    with _app(Settings(auth=OPEN, bedrock_max_attempts=2), recorder) as client:
        response = client.post("/inference/chat", json=USER_HI)
    assert response.status_code == 504
    assert len(recorder.requests) == 2


def test_corrupt_frame_becomes_an_error_event_without_detail(wire: tuple[TestClient, Wire]) -> None:
    """botocore checks each frame's CRC; a damaged frame must not leak parser internals."""
    client, recorder = wire
    damaged = bytearray(HAPPY_FRAMES[2])
    damaged[-6] ^= 0xFF  # a payload byte: the message CRC no longer matches
    recorder.answers.append(event_stream(RawEventStream([HAPPY_FRAMES[1], bytes(damaged)])))
    events = sse(client.post("/inference/chat/stream", json=USER_HI).text)
    assert events == [
        ("delta", {"text": "Hel"}),
        (
            "error",
            {
                "error": {
                    "code": "upstream_error",
                    "message": "the Bedrock request failed",
                    "status": 502,
                    "request_id": events[-1][1]["error"]["request_id"],
                }
            },
        ),
    ]
