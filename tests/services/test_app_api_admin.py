"""/api/admin/* under uvicorn: the admin claim with sign-in on (a local issuer), open with it off."""

from __future__ import annotations

from http_fakes import assert_error_shape, call, running_issuer, running_service
from services_testkit import APP_API, NO_AUTH


def test_admin_routes_need_the_admin_group_when_sign_in_is_on() -> None:
    with running_issuer() as issuer, running_service(APP_API, AUTH_ISSUER=issuer.url,
                                                     AUTH_AUDIENCE="platform-api") as svc:
        admin = issuer.token(**{"cognito:groups": ["admin", "ops"]})
        plain = issuer.token(**{"cognito:groups": ["users"]})
        answers = {path: call(svc.url, "GET", path, token=admin) for path in
                   ("/api/admin/version", "/api/admin/config", "/api/admin/checks")}
        refused = call(svc.url, "GET", "/api/admin/config", token=plain)
        anonymous = call(svc.url, "GET", "/api/admin/version")
    assert all(a.status == 200 for a in answers.values()), {p: a.body for p, a in answers.items()}
    version = answers["/api/admin/version"].json()
    assert version["image_tag"] == "http-test" and version["packages"]["fastapi"]
    config = answers["/api/admin/config"].json()
    assert config["admin_claim"] == "cognito:groups" and config["auth"]["issuer"] == issuer.url
    assert answers["/api/admin/checks"].json() == {
        "ok": True, "checks": {"sign_in": {"ok": True, "detail": "issuer keys available",
                                           "ms": answers["/api/admin/checks"].json()["checks"]["sign_in"]["ms"]}}}
    assert "admin" in assert_error_shape(refused, 403, "forbidden")["message"]
    assert_error_shape(anonymous, 401, "unauthorized")


def test_the_claim_and_group_are_configurable() -> None:
    with running_issuer() as issuer, running_service(APP_API, AUTH_ISSUER=issuer.url, AUTH_AUDIENCE="platform-api",
                                                     ADMIN_CLAIM="roles", ADMIN_GROUP="operator") as svc:
        space_separated = call(svc.url, "GET", "/api/admin/version", token=issuer.token(roles="reader operator"))
        cognito_admin = call(svc.url, "GET", "/api/admin/version", token=issuer.token(**{"cognito:groups": ["admin"]}))
    assert space_separated.status == 200
    assert_error_shape(cognito_admin, 403, "forbidden")


def test_admin_routes_are_open_when_sign_in_is_off() -> None:
    with running_service(APP_API, **NO_AUTH) as svc:
        assert call(svc.url, "GET", "/api/admin/checks").json()["checks"]["sign_in"]["ok"] is True
