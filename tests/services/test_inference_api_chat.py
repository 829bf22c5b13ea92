"""POST /inference/chat against a real bedrock-runtime client, answered by botocore's Stubber.

Stubber checks each call's parameters against the Converse API model (and `expected_params`),
and its responses are validated against the real response shapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from fastapi.testclient import TestClient
from inference_api.app import create_app
from inference_api.bedrock import make_client
from inference_api.config import DEFAULT_MODEL_ID, Settings
from services_testkit import OPEN

USER_HI = {"messages": [{"role": "user", "content": "Hi"}]}
CONVERSE_OK = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hello"}, {"text": " there"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 9, "outputTokens": 3, "totalTokens": 12},
    "metrics": {"latencyMs": 321},
}


def _params(messages: list[dict[str, str]], max_tokens: int = 1024, **extra: Any) -> dict[str, Any]:
    return {
        "modelId": DEFAULT_MODEL_ID,
        "messages": [{"role": m["role"], "content": [{"text": m["content"]}]} for m in messages],
        "inferenceConfig": {"maxTokens": max_tokens},
        **extra,
    }


@pytest.fixture
def stubbed(aws_credentials: None) -> Iterator[tuple[TestClient, Stubber]]:
    """The app with the production client factory's client, wrapped in a Stubber."""
    settings = Settings(auth=OPEN, max_message_chars=50)
    client = make_client(settings)
    with Stubber(client) as stubber, TestClient(create_app(settings, bedrock_client=client)) as test_client:
        yield test_client, stubber
        stubber.assert_no_pending_responses()


def test_chat_calls_converse_and_answers_in_our_shape(stubbed: tuple[TestClient, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("converse", CONVERSE_OK, _params(USER_HI["messages"]))
    response = client.post("/inference/chat", json=USER_HI)
    assert response.status_code == 200
    assert response.json() == {
        "model_id": DEFAULT_MODEL_ID,
        "message": {"role": "assistant", "content": "Hello there"},
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 9, "output_tokens": 3, "total_tokens": 12},
        "latency_ms": 321,
    }


def test_chat_passes_system_and_overrides(stubbed: tuple[TestClient, Stubber]) -> None:
    client, stubber = stubbed
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Again"},
    ]
    expected = _params(messages, max_tokens=64, system=[{"text": "Be brief."}])
    expected["inferenceConfig"]["temperature"] = 0.0
    stubber.add_response("converse", CONVERSE_OK, expected)
    body = {"messages": messages, "system": "Be brief.", "max_tokens": 64, "temperature": 0}
    assert client.post("/inference/chat", json=body).status_code == 200


def test_configured_model_tokens_and_temperature_are_the_defaults(aws_credentials: None) -> None:
    settings = Settings(
        auth=OPEN, bedrock_model_id="us.amazon.nova-lite-v1:0", bedrock_max_tokens=300, bedrock_temperature=0.4
    )
    client = make_client(settings)
    expected = {**_params(USER_HI["messages"], max_tokens=300), "modelId": "us.amazon.nova-lite-v1:0"}
    expected["inferenceConfig"]["temperature"] = 0.4
    with Stubber(client) as stubber, TestClient(create_app(settings, bedrock_client=client)) as test_client:
        stubber.add_response("converse", CONVERSE_OK, expected)
        assert test_client.post("/inference/chat", json=USER_HI).json()["model_id"] == "us.amazon.nova-lite-v1:0"
        stubber.assert_no_pending_responses()


def _msgs(*roles: str) -> list[dict[str, str]]:
    return [{"role": role, "content": f"text {i}"} for i, role in enumerate(roles)]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"messages": []}, "at least 1 item"),
        ({}, "Field required"),
        ({"messages": _msgs("system")}, "'user' or 'assistant'"),
        ({"messages": _msgs("assistant", "user")}, "messages[0] must have role 'user'"),
        ({"messages": _msgs("user", "user")}, "messages[1] must have role 'assistant'"),
        ({"messages": _msgs("user", "assistant")}, "the last message must have role 'user'"),
        ({"messages": [{"role": "user", "content": ""}]}, "at least 1 character"),
        ({"messages": [{"role": "user", "content": "  \n "}]}, "content must not be blank"),
        ({"messages": [{"role": "user"}]}, "Field required"),
        ({"messages": [{"role": "user", "content": "x", "extra": 1}]}, "Extra inputs are not permitted"),
        ({"messages": _msgs("user", "assistant") * 500 + _msgs("user")}, "at most 1000 items"),
        ({"messages": _msgs("user", "assistant") * 25 + _msgs("user")}, "at most 50 messages are accepted"),
        ({**USER_HI, "max_tokens": 0}, "greater than or equal to 1"),
        ({**USER_HI, "max_tokens": 8193}, "less than or equal to 8192"),
        ({**USER_HI, "temperature": -0.1}, "greater than or equal to 0"),
        ({**USER_HI, "temperature": 1.5}, "less than or equal to 1"),
        ({**USER_HI, "system": ""}, "at least 1 character"),
        ({"messages": [{"role": "user", "content": "x" * 51}]}, "at most 50 characters"),
        ({**USER_HI, "system": "s" * 51}, "at most 50 characters"),
    ],
)
@pytest.mark.parametrize("path", ["/inference/chat", "/inference/chat/stream"])
def test_invalid_requests_are_422_and_never_reach_bedrock(
    stubbed: tuple[TestClient, Stubber], path: str, body: dict[str, Any], needle: str
) -> None:
    client, _ = stubbed  # no response is queued: a call to Bedrock would fail the test
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert needle in response.json()["error"]["message"]


def test_oversized_text_is_reported_by_position_not_echoed(stubbed: tuple[TestClient, Stubber]) -> None:
    client, _ = stubbed
    messages = [{"role": "user", "content": "ok"}, {"role": "assistant", "content": "y" * 60}, USER_HI["messages"][0]]
    error = client.post("/inference/chat", json={"messages": messages}).json()["error"]
    assert (error["code"], error["message"]) == (
        "invalid_request",
        "body.messages.1.content: String should have at most 50 characters",
    )


@pytest.mark.parametrize(
    ("aws_code", "http_status", "code"),
    [
        ("ThrottlingException", 429, "throttled"),
        ("ServiceQuotaExceededException", 429, "quota_exceeded"),
        ("AccessDeniedException", 503, "model_access_denied"),
        ("ResourceNotFoundException", 503, "model_not_found"),
        ("ValidationException", 400, "invalid_request"),
        ("ModelTimeoutException", 504, "model_timeout"),
        ("ServiceUnavailableException", 503, "service_unavailable"),
        ("ModelNotReadyException", 503, "model_not_ready"),
        ("InternalServerException", 502, "upstream_error"),
        ("ModelErrorException", 502, "upstream_error"),
    ],
)
def test_bedrock_errors_are_mapped(
    stubbed: tuple[TestClient, Stubber], aws_code: str, http_status: int, code: str
) -> None:
    client, stubber = stubbed
    stubber.add_client_error("converse", aws_code, "internal detail from AWS", http_status_code=400)
    response = client.post("/inference/chat", json=USER_HI, headers={"X-Request-ID": "rid-7"})
    assert response.status_code == http_status
    error = response.json()["error"]
    assert error["code"] == code and error["request_id"] == "rid-7" and error["message"]
    assert ("Retry-After" in response.headers) == (http_status == 429)
    assert "Traceback" not in response.text and "botocore" not in response.text


def test_retry_after_and_access_denied_messages_are_actionable(stubbed: tuple[TestClient, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("converse", "ThrottlingException", "Too many requests", 429)
    stubber.add_client_error("converse", "AccessDeniedException", "no access", 403)
    throttled = client.post("/inference/chat", json=USER_HI)
    assert throttled.headers["Retry-After"] == "2"
    denied = client.post("/inference/chat", json=USER_HI).json()["error"]["message"]
    assert "Model access" in denied and "bedrock:InvokeModel" in denied


def test_validation_exception_passes_bedrock_reason_on(stubbed: tuple[TestClient, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("converse", "ValidationException", "Input is too long for requested model.", 400)
    body = client.post("/inference/chat", json=USER_HI).json()
    assert body["error"]["message"] == "Bedrock rejected the request: Input is too long for requested model."


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"messages": _msgs("user", "assistant", "user")}, "all text together must be at most 10 characters"),
        ({**USER_HI, "system": "sys-prompt"}, "all text together must be at most 10 characters"),
        ({**USER_HI, "max_tokens": 101}, "max_tokens must be at most 100"),
    ],
)
@pytest.mark.parametrize("path", ["/inference/chat", "/inference/chat/stream"])
def test_spend_ceilings_are_422_before_bedrock(
    aws_credentials: None, path: str, body: dict[str, Any], needle: str
) -> None:
    settings = Settings(auth=OPEN, bedrock_max_input_chars=10, bedrock_max_tokens=100)
    client = make_client(settings)
    with Stubber(client), TestClient(create_app(settings, bedrock_client=client)) as test_client:
        response = test_client.post(path, json=body)  # no response queued: a Bedrock call would fail
    assert response.status_code == 422
    assert needle in response.json()["error"]["message"]
