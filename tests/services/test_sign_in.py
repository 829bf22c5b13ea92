"""Sign-in over real HTTP: each service under uvicorn, tokens signed by test keys whose discovery
document and JWKS a local issuer serves (http://127.0.0.1 is the one place plain http is allowed).

app-api: writes under /api need a token, reads stay open. inference-api: every /inference route
but health needs one. Both share service_kit.auth, so the token cases run against app-api and the
route rules against both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import select
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from app_api.config import Settings as AppApiSettings
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from http_fakes import (
    AUDIENCE,
    Issuer,
    Running,
    SigningKey,
    assert_error_shape,
    call,
    running_issuer,
    running_service,
    service_env,
)
from service_kit import jwks
from service_kit.authconfig import AuthSettings, read_auth
from service_kit.envconfig import ConfigError, EnvReader
from services_testkit import APP_API, INFERENCE_API, NO_AUTH, Service, bin_dir, free_port

ITEM = {"name": "signed"}


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with running_issuer(SigningKey("rsa-1"), SigningKey("ec-1", "ES256")) as running:
        yield running


@pytest.fixture(scope="module")
def app_api(issuer: Issuer) -> Iterator[Running]:
    with running_service(APP_API, AUTH_ISSUER=issuer.url, AUTH_AUDIENCE=AUDIENCE) as running:
        yield running


@pytest.fixture(scope="module")
def inference_api(issuer: Issuer) -> Iterator[Running]:
    with running_service(INFERENCE_API, AUTH_ISSUER=issuer.url, AUTH_AUDIENCE=AUDIENCE) as running:
        yield running


def _create(app: Running, token: str | None) -> Any:
    return call(app.url, "POST", "/api/items", ITEM, token=token)


def test_a_valid_token_writes_and_reads_stay_open(app_api: Running, issuer: Issuer) -> None:
    assert _create(app_api, issuer.token()).status == 201
    assert _create(app_api, issuer.token(issuer.keys[1])).status == 201  # ES256
    assert call(app_api.url, "GET", "/api/items").status == 200
    assert call(app_api.url, "GET", "/health").status == 200


def test_a_missing_token_is_401_with_a_bearer_challenge(app_api: Running) -> None:
    answer = _create(app_api, None)
    assert_error_shape(answer, 401, "unauthorized")
    assert answer.headers["www-authenticate"] == "Bearer"
    assert call(app_api.url, "DELETE", "/api/items/1").status == 401


def _hs256_with_the_public_key(issuer: Issuer) -> str:
    """The classic confusion: the RSA public key used as an HMAC secret."""
    pem = issuer.keys[0].private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}
    claims = {"iss": issuer.url, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60}
    # PyJWT refuses to sign with a PEM key as an HMAC secret, so the token is put together by hand.
    signing_input = _b64(json.dumps(header).encode()) + b"." + _b64(json.dumps(claims).encode())
    return (signing_input + b"." + _b64(hmac.new(pem, signing_input, hashlib.sha256).digest())).decode()


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _alg_none(issuer: Issuer) -> str:
    claims = {"iss": issuer.url, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60}
    return jwt.encode(claims, None, algorithm="none", headers={"kid": "rsa-1"})


BAD_TOKENS = {
    "expired": lambda i: i.token(exp=int(time.time()) - 120),
    "not yet valid": lambda i: i.token(nbf=int(time.time()) + 120),
    "wrong audience": lambda i: i.token(aud="someone-else"),
    "wrong issuer": lambda i: i.token(iss="https://evil.example.com"),
    "bad signature": lambda i: i.token(SigningKey("rsa-1")),  # same kid, another key
    "unknown kid": lambda i: i.token(SigningKey("not-published")),
    "alg none": _alg_none,
    "HS256 with the public key": _hs256_with_the_public_key,
    "no subject": lambda i: i.token(sub=None),
    "no expiry": lambda i: i.token(exp=None),
    "garbage": lambda i: "not.a.token",
    "id token without aud": lambda i: i.token(aud=None, client_id=AUDIENCE, token_use="id"),
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_bad_tokens_are_401_invalid_token(app_api: Running, issuer: Issuer, case: str) -> None:
    answer = _create(app_api, BAD_TOKENS[case](issuer))
    assert_error_shape(answer, 401, "invalid_token")
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_a_cognito_access_token_is_matched_by_client_id(app_api: Running, issuer: Issuer) -> None:
    """Cognito access tokens carry no `aud`: `client_id` names the app and `token_use` is access."""
    assert _create(app_api, issuer.token(aud=None, client_id=AUDIENCE, token_use="access")).status == 201
    assert _create(app_api, issuer.token(aud=None, client_id="other", token_use="access")).status == 401


def test_clock_skew_is_tolerated_a_little(app_api: Running, issuer: Issuer) -> None:
    assert _create(app_api, issuer.token(exp=int(time.time()) - 5)).status == 201
    assert _create(app_api, issuer.token(nbf=int(time.time()) + 5)).status == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/inference/chat"), ("POST", "/inference/chat/stream")],
)
def test_inference_routes_need_a_token_but_health_does_not(inference_api: Running, issuer: Issuer, method: str,
                                                          path: str) -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}]}
    assert_error_shape(call(inference_api.url, method, path, body), 401, "unauthorized")
    assert_error_shape(call(inference_api.url, method, path, body, token="x.y.z"), 401, "invalid_token")
    # A valid token passes sign-in and meets the next check (here: the body's NaN).
    nan = b'{"messages": [{"role": "user", "content": "Hi"}], "temperature": NaN}'
    assert call(inference_api.url, method, path, raw=nan, token=issuer.token()).status == 422
    for open_path in ("/inference/health", "/inference/health/ready"):
        assert call(inference_api.url, "GET", open_path).status == 200


def test_the_callers_subject_is_in_the_access_line(issuer: Issuer) -> None:
    with running_service(APP_API, AUTH_ISSUER=issuer.url, AUTH_AUDIENCE=AUDIENCE) as running:
        assert _create(running, issuer.token(sub="alice-42")).status == 201
        assert call(running.url, "GET", "/api/items").status == 200
    access = [json.loads(line) for line in running.output if '"logger":"access"' in line]
    assert [(a["method"], a.get("sub")) for a in access if a["path"] == "/api/items"] == [
        ("POST", "alice-42"),
        ("GET", None),
    ]


def test_rotated_keys_are_fetched_and_a_flood_of_unknown_kids_is_not(issuer: Issuer) -> None:
    """At AUTH_JWKS_REFETCH_SECONDS=1 (the 5 s default: the test below), so the rotated-in key is
    found after a second of asking, not five."""
    interval = 1
    with (
        running_issuer(SigningKey("old")) as rotating,
        running_service(
            APP_API, AUTH_ISSUER=rotating.url, AUTH_AUDIENCE=AUDIENCE, AUTH_JWKS_REFETCH_SECONDS=str(interval)
        ) as running,
    ):
        assert _create(running, rotating.token()).status == 201
        assert rotating.jwks_fetches == 1
        # One EC key under 30 made-up key ids: the kid is what the flood is about, and EC keys cost
        # nothing to make where 30 RSA keys took seconds of the test's own CPU.
        junk = SigningKey("junk", "ES256")
        began = time.monotonic()
        for n in range(30):
            assert _create(running, rotating.token(SigningKey(f"junk-{n}", "ES256", junk.private))).status == 401
        # One refetch per started interval, counted over the time the 30 requests really took: on a
        # loaded machine they can span more than one interval.
        flood = rotating.jwks_fetches
        assert flood <= 2 + int((time.monotonic() - began) // interval), "unknown kids refetch once per interval"
        new = SigningKey("new")
        rotating.keys.append(new)
        # Refused (no refetch yet: the interval is not over) until the interval passes, then found.
        deadline = time.monotonic() + 15
        while (status := _create(running, rotating.token(new)).status) == 401 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert status == 201, "a rotated-in key is found"
        assert _create(running, rotating.token()).status == 201, "the old key still works meanwhile"
        assert rotating.jwks_fetches == flood + 1, "asking meanwhile fetched nothing more"


def test_unknown_kids_refetch_every_5_s_unless_set() -> None:
    assert jwks.REFETCH_INTERVAL_SECONDS == AuthSettings().jwks_refetch_seconds == 5
    assert read_auth(EnvReader({"AUTH_JWKS_REFETCH_SECONDS": "1"}), False).jwks_refetch_seconds == 1
    for bad in ("0", "never"):
        reader = EnvReader({"AUTH_JWKS_REFETCH_SECONDS": bad})
        read_auth(reader, False)
        expected = f"AUTH_JWKS_REFETCH_SECONDS must be a number from 0.5 to 3600 .got '{bad}'"
        with pytest.raises(ConfigError, match=expected):
            reader.check()


def test_a_dead_issuer_is_a_quick_503_and_never_stalls_other_requests() -> None:
    """While a key fetch hangs, health still answers; then the fetch's 3 s deadline gives a 503.
    Waits are on conditions (a connection waiting at the issuer, the writer still pending), not on
    sleeps and stopwatches, so a loaded machine cannot fail it."""
    key = SigningKey("k")
    with socket.socket() as dead_socket:
        dead_socket.bind(("127.0.0.1", 0))
        dead_socket.listen(16)  # accepts into the backlog, never answers: a hung issuer
        dead = f"http://127.0.0.1:{dead_socket.getsockname()[1]}"
        with running_service(APP_API, AUTH_ISSUER=dead, AUTH_AUDIENCE=AUDIENCE) as running:
            token = Issuer(keys=[key], url=dead).token()
            answers: list[Any] = []
            began = time.monotonic()
            writer = threading.Thread(target=lambda: answers.append(_create(running, token)))
            writer.start()
            waiting, _, _ = select.select([dead_socket], [], [], 10)
            assert waiting, "the service never asked the issuer for its keys"
            assert call(running.url, "GET", "/health", timeout=5).status == 200
            assert writer.is_alive(), "health answered only after the key fetch gave up: the event loop was blocked"
            writer.join(15)
            assert_error_shape(answers[0], 503, "auth_unavailable")
            assert time.monotonic() - began < 10, "the fetch has a 3 s deadline"


@pytest.mark.parametrize("service", [APP_API, INFERENCE_API], ids=["app-api", "inference-api"])
def test_a_service_whose_routes_need_sign_in_refuses_to_start_without_an_issuer(service: Service) -> None:
    result = subprocess.run(
        [str(bin_dir() / service.name)], env=service_env(free_port()), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    [line] = [json.loads(x) for x in result.stdout.splitlines()]
    assert line["level"] == "CRITICAL" and "AUTH_ISSUER must be set" in line["message"]
    assert "AUTH_DISABLED=1" in line["message"] and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"AUTH_ISSUER": "http://issuer.example.com", "AUTH_AUDIENCE": "a"}, "AUTH_ISSUER must be an https:// URL"),
        ({"AUTH_ISSUER": "https://issuer.example.com"}, "AUTH_AUDIENCE must be set with AUTH_ISSUER"),
        ({"AUTH_DISABLED": "maybe"}, "AUTH_DISABLED must be one of"),
        ({**NO_AUTH, "MAX_BODY_BYTES": "0"}, "MAX_BODY_BYTES must be an integer from 1"),
    ],
)
def test_bad_sign_in_settings_stop_start_up(env: dict[str, str], needle: str) -> None:
    """Each case in-process (Settings.from_env raises); that a ConfigError stops the console script
    with exit 2 is one code path (server.run_service), run for real by the first case."""
    with pytest.raises(ConfigError, match=re.escape(needle)):
        AppApiSettings.from_env(service_env(free_port(), **env))


def test_a_bad_sign_in_setting_stops_the_console_script_with_exit_2() -> None:
    env = service_env(free_port(), AUTH_ISSUER="http://issuer.example.com", AUTH_AUDIENCE="a")
    result = subprocess.run([str(bin_dir() / APP_API.name)], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "AUTH_ISSUER must be an https:// URL" in result.stdout, result.stdout


def test_auth_disabled_starts_with_a_warning() -> None:
    with running_service(APP_API, **NO_AUTH) as running:
        assert call(running.url, "POST", "/api/items", ITEM).status == 201
    warnings = [json.loads(line) for line in running.output if '"WARNING"' in line]
    assert any("AUTH_DISABLED=1" in w["message"] for w in warnings)
