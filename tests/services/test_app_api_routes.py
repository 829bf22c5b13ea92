"""Every app-api route, in process, through the real app (middleware included)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app_api import __version__
from app_api.app import create_app
from app_api.config import Settings
from app_api.items import ItemStore
from fastapi.testclient import TestClient
from services_testkit import OPEN

SETTINGS = Settings(auth=OPEN, image_tag="abc123", environment="test", aws_region="eu-west-1")


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(SETTINGS)) as test_client:
        yield test_client


def test_health_is_cheap_and_identifies_the_build(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "service": "app-api",
        "version": __version__,
        "image_tag": "abc123",
    }


def test_version_comes_from_package_metadata() -> None:
    assert __version__ == "0.1.0"


def test_ready_only_while_running() -> None:
    app = create_app(SETTINGS)
    with TestClient(app) as client:
        assert client.get("/health/ready").json() == {"status": "ready"}
    # After the lifespan has shut down, the same app reports not ready.
    response = TestClient(app).get("/health/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "not_ready"}


def test_info_reports_configuration_and_uptime(client: TestClient) -> None:
    body = client.get("/api/info").json()
    assert {k: body[k] for k in ("service", "version", "image_tag", "environment", "region")} == {
        "service": "app-api",
        "version": __version__,
        "image_tag": "abc123",
        "environment": "test",
        "region": "eu-west-1",
    }
    assert body["started_at"].endswith("Z")
    assert 0 <= body["uptime_seconds"] < 60


def test_echo_returns_message_and_request_id(client: TestClient) -> None:
    response = client.get("/api/echo", params={"message": "hello"}, headers={"X-Request-ID": "abc-1"})
    assert response.json() == {"message": "hello", "request_id": "abc-1"}


@pytest.mark.parametrize("params", [{}, {"message": ""}, {"message": "x" * 1001}])
def test_echo_rejects_missing_or_bad_message(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/api/echo", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("query.message: ")


def test_items_lifecycle(client: TestClient) -> None:
    created = client.post("/api/items", json={"name": "first", "description": "one"})
    assert created.status_code == 201
    item = created.json()
    assert created.headers["location"] == f"/api/items/{item['id']}"
    assert item["name"] == "first" and item["description"] == "one"
    client.post("/api/items", json={"name": "second"})

    assert [i["name"] for i in client.get("/api/items").json()] == ["first", "second"]
    assert [i["name"] for i in client.get("/api/items", params={"offset": 1, "limit": 1}).json()] == ["second"]
    assert client.get(f"/api/items/{item['id']}").json() == item

    assert client.delete(f"/api/items/{item['id']}").status_code == 204
    missing = client.get(f"/api/items/{item['id']}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert missing.json()["error"]["message"] == f"item {item['id']} not found"
    assert client.delete(f"/api/items/{item['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "description": "d" * 1001}, "description"),
    ],
)
def test_items_validation(client: TestClient, body: dict[str, str], field: str) -> None:
    response = client.post("/api/items", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(f"body.{field}: ")


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "offset=-1"])
def test_items_paging_bounds(client: TestClient, query: str) -> None:
    assert client.get(f"/api/items?{query}").status_code == 422


def test_items_store_is_bounded() -> None:
    app = create_app(SETTINGS)
    app.state.items = ItemStore(capacity=1)
    with TestClient(app) as client:
        assert client.post("/api/items", json={"name": "a"}).status_code == 201
        full = client.post("/api/items", json={"name": "b"})
    assert full.status_code == 409
    assert "full" in full.json()["error"]["message"]


def test_openapi_is_served_under_the_routed_prefix(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {
        "/health",
        "/health/ready",
        "/api/info",
        "/api/echo",
        "/api/items",
        "/api/items/{item_id}",
    } <= set(paths)
    assert client.get("/api/docs").status_code == 200


def test_unknown_path_is_404_with_request_id(client: TestClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.headers["x-request-id"]
