"""service-kit's own API: settings a service extends, the app factory, the health router, run_service.

The services' tests exercise the kit through each service; these pin what a new service relies on.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from service_kit.auth import sign_in
from service_kit.bodyguard import non_finite_problem
from service_kit.envconfig import ConfigError, EnvReader, secure_url
from service_kit.factory import create_service_app
from service_kit.health import Health, HealthFastPath, health_router
from service_kit.jsonlog import configure_logging
from service_kit.server import run_service
from service_kit.settings import ServiceSettings


@dataclass(frozen=True)
class OrdersSettings(ServiceSettings):
    service_name: str = "orders-api"
    table: str = "orders"
    table_region: str = "us-east-1"

    @classmethod
    def read_own(cls, env: EnvReader, common: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "table": env.text("ORDERS_TABLE", cls.table, r"[a-z]+"),
            "table_region": env.text("TABLE_REGION", common["aws_region"] or cls.table_region),
        }


class OrdersHealth(Health):
    table: str


orders = APIRouter(prefix="/orders")


@orders.get("/count")
async def count() -> dict[str, int]:
    return {"count": 0}


def orders_app(settings: OrdersSettings) -> FastAPI:
    app = create_service_app(
        settings,
        version="1.2.3",
        logger="orders_api",
        docs_prefix="/orders",
        health_prefix="/orders",
        health_model=OrdersHealth,
        health_fields={"table": settings.table},
        started_fields={"table": settings.table},
    )
    app.include_router(orders)  # after the factory: the access log must still wrap it
    return app


def test_subclass_reads_common_and_own_fields_and_keeps_its_name() -> None:
    settings = OrdersSettings.from_env({"PORT": "9000", "AWS_REGION": "eu-west-1", "ORDERS_TABLE": "shop"})
    assert isinstance(settings, OrdersSettings)
    assert (settings.service_name, settings.port, settings.table) == ("orders-api", 9000, "shop")
    assert settings.table_region == "eu-west-1", "own defaults may depend on the common fields"
    assert OrdersSettings.from_env({}) == OrdersSettings()
    assert ServiceSettings.from_env({}) == ServiceSettings()


def test_common_and_own_errors_are_reported_together() -> None:
    with pytest.raises(ConfigError) as failure:
        OrdersSettings.from_env({"PORT": "x", "ORDERS_TABLE": "Not-Valid"})
    assert "PORT must be an integer" in str(failure.value) and "ORDERS_TABLE must be" in str(failure.value)


def test_factory_routes_health_and_docs_under_the_prefixes() -> None:
    with TestClient(orders_app(OrdersSettings(image_tag="t1"))) as client:
        health = client.get("/orders/health")
        assert client.get("/orders/docs").status_code == 200
        paths = set(client.get("/orders/openapi.json").json()["paths"])
        assert client.get("/health").status_code == 404
    assert health.json() == {
        "status": "ok",
        "service": "orders-api",
        "version": "1.2.3",
        "image_tag": "t1",
        "table": "orders",
    }
    assert paths == {"/orders/health", "/orders/health/ready", "/orders/count"}


def test_defaults_give_plain_health_at_the_root() -> None:
    app = create_service_app(ServiceSettings(), version="0", logger="x", docs_prefix="/api")
    with TestClient(app) as client:
        assert set(client.get("/health").json()) == {"status", "service", "version", "image_tag"}
        assert client.get("/api/openapi.json").status_code == 200


def test_ready_follows_the_lifespan() -> None:
    app = orders_app(OrdersSettings())
    assert TestClient(app).get("/orders/health/ready").status_code == 503  # lifespan not started
    with TestClient(app) as client:
        assert client.get("/orders/health/ready").json() == {"status": "ready"}
    assert TestClient(app).get("/orders/health/ready").json() == {"status": "not_ready"}


def test_the_health_fast_path_answers_exactly_what_the_route_does() -> None:
    """GET {prefix}/health is answered before routing (HealthFastPath): byte for byte what the route
    answers in the same app without it, request id and access line included."""
    answers = []
    for fast in (True, False):
        app = orders_app(OrdersSettings(image_tag="t3"))
        if not fast:  # before the first request, so the stack is built without it
            app.user_middleware = [m for m in app.user_middleware if m.cls is not HealthFastPath]
        with TestClient(app) as client:
            answers.append(client.get("/orders/health", headers={"X-Request-Id": "same-id"}))
            assert client.head("/orders/health").status_code == 405  # other methods still reach the router
            assert client.get("/orders/health/ready").json() == {"status": "ready"}
    with_fast_path, routed = answers
    assert (with_fast_path.status_code, with_fast_path.content) == (routed.status_code, routed.content) == (
        200, routed.content)
    assert with_fast_path.headers.raw == routed.headers.raw  # same headers, same order
    assert with_fast_path.headers["x-request-id"] == "same-id"  # the access log still wraps it


def test_health_router_on_its_own() -> None:
    app = FastAPI()
    app.state.health_body, app.state.ready = b'{"status":"ok"}', True
    app.include_router(health_router("/x"))
    client = TestClient(app)
    assert client.get("/x/health").content == b'{"status":"ok"}'
    assert client.get("/x/health/ready").status_code == 200


def test_routes_added_after_the_factory_get_request_ids_and_access_lines(
    restore_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    configure_logging("INFO", "orders-api")
    with TestClient(orders_app(OrdersSettings(image_tag="t2"))) as client:
        response = client.get("/orders/count", headers={"X-Request-ID": "r-1"})
    assert response.headers["x-request-id"] == "r-1"
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    started = next(line for line in lines if line["message"] == "started")
    assert (started["logger"], started["version"], started["image_tag"], started["table"]) == (
        "orders_api",
        "1.2.3",
        "t2",
        "orders",
    )
    access = [line for line in lines if line["logger"] == "access"]
    assert [(a["path"], a["status"], a["request_id"]) for a in access] == [("/orders/count", 200, "r-1")]


def test_run_service_names_the_service_when_configuration_is_bad(
    restore_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SERVICE_NAME may be the bad value, so the line falls back to the settings class's default name."""
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    monkeypatch.setenv("PORT", "eighty")
    monkeypatch.delenv("SERVICE_NAME", raising=False)

    def never(settings: OrdersSettings) -> FastAPI:
        raise AssertionError("no app is built from bad settings")

    with pytest.raises(SystemExit) as stopped:
        run_service(OrdersSettings, never)
    assert stopped.value.code == 2
    [line] = [json.loads(x) for x in buffer.getvalue().splitlines()]
    assert (line["level"], line["service"]) == ("CRITICAL", "orders-api")
    assert "PORT must be an integer" in line["message"]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc", True),
        ("https://tenant.auth0.com/", True),
        ("http://127.0.0.1:9000", True),
        ("http://[::1]:9000/issuer", True),
        ("http://localhost:8080", True),
        ("http://issuer.example.com", False),
        ("http://10.0.0.5", False),
        ("ftp://issuer.example.com", False),
        ("https://", False),
        ("issuer.example.com", False),
    ],
)
def test_issuer_urls_are_https_or_loopback(url: str, ok: bool) -> None:
    assert secure_url(url) is ok


def test_a_service_that_uses_sign_in_without_declaring_it_fails_closed() -> None:
    """requires_sign_in is False here, so start-up does not insist on AUTH_ISSUER; the route still
    refuses rather than letting anyone in."""
    app = orders_app(OrdersSettings())
    guarded = APIRouter(prefix="/orders", dependencies=[sign_in()])

    @guarded.post("/place")
    async def place() -> dict[str, str]:
        return {"placed": "yes"}

    app.include_router(guarded)
    with TestClient(app) as client:
        response = client.post("/orders/place")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "auth_not_configured"


def test_settings_built_in_code_are_checked_like_the_environment() -> None:
    @dataclass(frozen=True)
    class Guarded(ServiceSettings):
        requires_sign_in: ClassVar[bool] = True

    with pytest.raises(ConfigError, match="AUTH_ISSUER must be set"):
        create_service_app(Guarded(), version="0", logger="x", docs_prefix="/x")
    with pytest.raises(ConfigError, match="AUTH_AUDIENCE must be set"):
        Guarded.from_env({"AUTH_ISSUER": "https://issuer.example.com"})
    assert Guarded.from_env({"AUTH_DISABLED": "true"}).auth.disabled


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"a": 1.5, "b": [1, 2, {"c": -3e10}]}', None),
        (b'{"a": NaN}', "NaN is not a JSON number: numbers must be finite"),
        (b"[Infinity]", "Infinity is not a JSON number: numbers must be finite"),
        (b'{"a": -1e400}', "a number is out of range: numbers must be finite"),
        (b"{broken", None),  # a syntax error is FastAPI's to report (422 json_invalid)
    ],
)
def test_non_finite_numbers_are_found(body: bytes, problem: str | None) -> None:
    assert non_finite_problem(body) == problem
