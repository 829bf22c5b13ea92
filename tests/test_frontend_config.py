"""config.json from the auth stack's SSM parameters (deployer/planning/site.py, pure)."""

from __future__ import annotations

import pytest

from deployer.planning.site import site_config

COGNITO = {
    "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
    "client-id": "3n4b5c",
    "audience": "3n4b5c",
    "authorize-url": "https://team.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
    "token-url": "https://team.auth.eu-west-1.amazoncognito.com/oauth2/token",
}


def test_no_issuer_means_sign_in_off() -> None:
    assert site_config({}) == {"auth": None}
    assert site_config({"client-id": "left-over"}) == {"auth": None}


def test_all_parameters_become_the_auth_settings() -> None:
    assert site_config(COGNITO) == {"auth": {
        "issuer": COGNITO["issuer"], "clientId": "3n4b5c", "audience": "3n4b5c",
        "authorizeUrl": COGNITO["authorize-url"], "tokenUrl": COGNITO["token-url"],
        "scope": "openid email profile",
    }}


def test_endpoints_are_optional_and_the_audience_defaults_to_the_client() -> None:
    config = site_config({"issuer": "https://id.example.com/", "client-id": "abc"})
    assert config == {"auth": {"issuer": "https://id.example.com/", "clientId": "abc", "audience": "abc",
                               "scope": "openid email profile"}}


@pytest.mark.parametrize(("values", "message"), [
    ({"issuer": "https://id.example.com"}, "auth/client-id is missing"),
    ({"issuer": "https://id.example.com", "client-id": ""}, "auth/client-id is missing"),
    ({"issuer": "http://id.example.com", "client-id": "c"}, "auth/issuer is 'http://id.example.com', not an https"),
    ({**COGNITO, "token-url": "ftp://x/token"}, "auth/token-url is"),
    ({**COGNITO, "authorize-url": 'https://x/"><script>'}, "auth/authorize-url is"),
])
def test_incomplete_or_unsafe_settings_are_refused(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        site_config(values)


def test_plain_http_only_on_loopback() -> None:
    assert site_config({"issuer": "http://127.0.0.1:8123", "client-id": "c"})["auth"]["issuer"]
    assert site_config({"issuer": "http://localhost:9", "client-id": "c"})["auth"]["issuer"]
    with pytest.raises(ValueError):
        site_config({"issuer": "http://127.0.0.1.example.com", "client-id": "c"})
