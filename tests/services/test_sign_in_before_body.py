"""Sign-in is checked before anything reads the body, over real HTTP under uvicorn.

Without a token a route that needs sign-in answers 401 whatever the body holds (too large, NaN):
the caller learns nothing about validation and the service never parses what it sent. With a
token the body guard answers as before (413, 422). Health, /ping and public reads stay open.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from http_fakes import AUDIENCE, Issuer, Running, SigningKey, assert_error_shape, call, running_issuer, running_service
from services_testkit import APP_API, INFERENCE_API

MAX_BODY = 2048
NAN_BODY = b'{"messages":[{"role":"user","content":"hi"}],"temperature":NaN,"name":"x"}'
HUGE_BODY = b'{"name":"' + b"x" * (MAX_BODY * 4) + b'"}'
# (method, path) of routes that need sign-in; the admin routes are GETs, which may carry a body too.
APP_ROUTES = [("POST", "/api/items"), ("GET", "/api/admin/config"), ("POST", "/api/admin/version")]
INFERENCE_ROUTES = [("POST", "/inference/chat"), ("POST", "/inference/agent"), ("POST", "/invocations")]


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with running_issuer(SigningKey("rsa-1")) as running:
        yield running


@pytest.fixture(scope="module")
def services(issuer: Issuer) -> Iterator[dict[str, Running]]:
    env = {"AUTH_ISSUER": issuer.url, "AUTH_AUDIENCE": AUDIENCE, "MAX_BODY_BYTES": str(MAX_BODY)}
    with running_service(APP_API, **env) as app_api, running_service(INFERENCE_API, **env) as inference_api:
        yield {"app-api": app_api, "inference-api": inference_api}


CASES = [("app-api", *route) for route in APP_ROUTES] + [("inference-api", *route) for route in INFERENCE_ROUTES]


@pytest.mark.parametrize(("service", "method", "path"), CASES)
def test_no_token_is_401_before_the_body_is_read(services: dict[str, Running], service: str, method: str,
                                                 path: str) -> None:
    url = services[service].url
    for body in (HUGE_BODY, NAN_BODY, b"{not json"):
        answer = call(url, method, path, raw=body)
        assert_error_shape(answer, 401, "unauthorized")
        assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("service", "method", "path"), CASES)
def test_with_a_token_the_body_guard_answers(services: dict[str, Running], issuer: Issuer, service: str,
                                            method: str, path: str) -> None:
    url, token = services[service].url, issuer.token(**{"cognito:groups": ["admin"]})
    assert_error_shape(call(url, method, path, raw=HUGE_BODY, token=token), 413, "payload_too_large")
    error = assert_error_shape(call(url, method, path, raw=NAN_BODY, token=token), 422, "invalid_request")
    assert "finite" in error["message"]


def test_a_bad_token_is_refused_before_the_body_too(services: dict[str, Running]) -> None:
    answer = call(services["inference-api"].url, "POST", "/inference/chat", raw=NAN_BODY, token="not.a.token")
    assert_error_shape(answer, 401, "invalid_token")


def test_open_routes_stay_open_and_still_guard_their_bodies(services: dict[str, Running]) -> None:
    app_api, inference_api = services["app-api"].url, services["inference-api"].url
    assert call(app_api, "GET", "/health").status == 200
    assert call(inference_api, "GET", "/inference/health").status == 200
    assert call(inference_api, "GET", "/ping").status == 200
    assert call(app_api, "GET", "/api/items").status == 200
    # A public route reads its body without sign-in, so the guard is what answers there.
    assert_error_shape(call(app_api, "GET", "/api/items", raw=NAN_BODY), 422, "invalid_request")
    assert_error_shape(call(app_api, "GET", "/api/items", raw=HUGE_BODY), 413, "payload_too_large")
    assert_error_shape(call(app_api, "POST", "/api/nowhere", raw=NAN_BODY), 422, "invalid_request")


def test_a_signed_in_write_still_reaches_the_route(services: dict[str, Running], issuer: Issuer) -> None:
    answer = call(services["app-api"].url, "POST", "/api/items", {"name": "after the gate"}, token=issuer.token())
    assert answer.status == 201, answer.body
