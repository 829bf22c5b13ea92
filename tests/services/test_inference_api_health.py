"""/inference/health and readiness: cheap, and never a Bedrock call."""

from __future__ import annotations

from fastapi.testclient import TestClient
from inference_api import __version__
from inference_api.app import create_app
from inference_api.config import Settings
from services_testkit import OPEN


class NoCalls:
    """A client that fails the test if anything is called on it."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"health checks must not touch Bedrock (called {name})")


def test_health_identifies_the_build_without_calling_bedrock() -> None:
    settings = Settings(auth=OPEN, image_tag="f00d", bedrock_model_id="amazon.nova-lite-v1:0")
    with TestClient(create_app(settings, bedrock_client=NoCalls())) as client:
        response = client.get("/inference/health", headers={"X-Request-ID": "lb-1"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "lb-1"
    body = response.json()
    assert body == {
        "status": "ok",
        "service": "inference-api",
        "version": __version__,
        "image_tag": "f00d",
        "model_id": "amazon.nova-lite-v1:0",
        "agentcore": body["agentcore"],
    }
    assert isinstance(body["agentcore"], bool)


def test_ready_only_while_running() -> None:
    app = create_app(Settings(auth=OPEN), bedrock_client=NoCalls())
    with TestClient(app) as client:
        assert client.get("/inference/health/ready").json() == {"status": "ready"}
    assert TestClient(app).get("/inference/health/ready").status_code == 503


def test_openapi_is_under_the_routed_prefix() -> None:
    with TestClient(create_app(Settings(auth=OPEN), bedrock_client=NoCalls())) as client:
        paths = set(client.get("/inference/openapi.json").json()["paths"])
        assert client.get("/inference/docs").status_code == 200
    assert paths == {"/inference/health", "/inference/health/ready", "/inference/chat", "/inference/chat/stream",
                     "/inference/agent", "/invocations", "/ping"}  # the last two: AgentCore Runtime's contract
