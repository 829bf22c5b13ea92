"""Request ids, JSON access-log lines and the unhandled-error answer (the shared middleware)."""

from __future__ import annotations

import io
import json
import logging
import re
import sys

import pytest
from app_api.app import create_app
from app_api.config import Settings
from fastapi.testclient import TestClient
from service_kit.jsonlog import configure_logging
from services_testkit import OPEN

AUTH_OFF_WARNING = "AUTH_DISABLED=1: routes that need sign-in are open to anyone"

ACCESS_KEYS = {
    "time",
    "level",
    "message",
    "logger",
    "service",
    "request_id",
    "method",
    "path",
    "status",
    "duration_ms",
}


@pytest.fixture
def log_stream(restore_logging: None, monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """configure_logging writes to whatever sys.stdout is when it runs: point that at a buffer."""
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    configure_logging("INFO", "app-api")
    return buffer


def _lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_incoming_request_id_is_honoured() -> None:
    with TestClient(create_app(Settings(auth=OPEN))) as client:
        response = client.get("/health", headers={"X-Request-ID": "trace-42.a:b/c"})
    assert response.headers["x-request-id"] == "trace-42.a:b/c"


@pytest.mark.parametrize("incoming", [None, "", "has space", "x" * 129, "semi;colon", "<script>"])
def test_missing_or_unsafe_request_id_is_replaced(incoming: str | None) -> None:
    """Caller ids end up in logs and headers: anything but a short, plain token is replaced."""
    headers = {} if incoming is None else {"X-Request-ID": incoming}
    with TestClient(create_app(Settings(auth=OPEN))) as client:
        response = client.get("/health", headers=headers)
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_one_json_access_line_per_request(log_stream: io.StringIO) -> None:
    with TestClient(create_app(Settings(auth=OPEN))) as client:
        client.get("/api/items/7", headers={"X-Request-ID": "rid-1"})
    access = [line for line in _lines(log_stream) if line["logger"] == "access"]
    assert len(access) == 1
    line = access[0]
    assert set(line) == ACCESS_KEYS
    assert (line["request_id"], line["method"], line["path"], line["status"]) == (
        "rid-1",
        "GET",
        "/api/items/7",
        404,
    )
    assert line["level"] == "INFO" and line["service"] == "app-api"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(line["time"]))
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


def test_lifespan_lines_are_json_too(log_stream: io.StringIO) -> None:
    with TestClient(create_app(Settings(auth=OPEN, image_tag="t9"))):
        pass
    lines = _lines(log_stream)
    started = next(line for line in lines if line["message"] == "started")
    assert started["image_tag"] == "t9" and started["version"] == "0.1.0"
    assert any(line["message"] == "stopped" for line in lines)


def test_unhandled_error_is_a_json_500_with_request_id(log_stream: io.StringIO) -> None:
    app = create_app(Settings(auth=OPEN))

    def broken() -> None:
        raise RuntimeError("secret detail")

    app.add_api_route("/api/broken", broken)
    with TestClient(app) as client:
        response = client.get("/api/broken", headers={"X-Request-ID": "rid-500"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "rid-500"
    assert response.json() == {
        "error": {"code": "internal_error", "message": "internal server error", "request_id": "rid-500"}
    }
    assert "secret" not in response.text and "Traceback" not in response.text
    lines = _lines(log_stream)
    error = next(line for line in lines if line["message"] == "unhandled error")
    assert error["request_id"] == "rid-500" and "RuntimeError: secret detail" in str(error["error"])
    access = next(line for line in lines if line["logger"] == "access" and "status" in line)
    assert access["status"] == 500


def test_log_level_filters(restore_logging: None, monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    configure_logging("WARNING", "app-api")
    with TestClient(create_app(Settings(auth=OPEN))) as client:
        client.get("/health")
    logging.getLogger("x").warning("kept")
    # INFO lines (started, the access line) are filtered; the sign-in warning is a WARNING.
    assert [line["message"] for line in _lines(buffer)] == [AUTH_OFF_WARNING, "kept"]
