"""The site signs the user in: authorization code + PKCE (S256) against a fake OIDC issuer over
real HTTP, driven through one browser tab (services/frontend/tests/dom_harness.js) that enforces
the Content-Security-Policy the distribution sends."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from frontend_support import FakeIssuer, Seen, SiteServer, json_reply, run_tab, serve_site

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("frontend_build", ROOT / "services" / "frontend" / "build.py")
assert spec and spec.loader
fb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fb)

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
SIGN_IN = [{"open": "/"}, {"click": "sign-in"}, {"follow": True}]
REPLY = {"message": {"role": "assistant", "content": "hello"}}


@pytest.fixture
def issuer() -> Iterator[FakeIssuer]:
    server = FakeIssuer()
    yield server
    server.close()


class Api:
    """/api/info open to all; /inference/chat only with a token the issuer handed out (until revoked)."""

    def __init__(self, issuer: FakeIssuer) -> None:
        self.issuer, self.revoked = issuer, False

    def chat(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        token = seen.headers.get("authorization", "").removeprefix("Bearer ")
        if self.revoked or token not in self.issuer.tokens:
            return json_reply(401, {"error": {"code": "unauthorized", "message": "missing or invalid bearer token"}},
                              **{"WWW-Authenticate": "Bearer"})
        return json_reply(200, REPLY)

    def routes(self) -> dict[str, Any]:
        info = {"service": "app-api", "version": "1", "image_tag": "abc"}
        return {"/api/info": lambda _seen: json_reply(200, info), "/inference/chat": self.chat}


def auth_config(issuer: FakeIssuer, **extra: str) -> dict[str, Any]:
    return {"auth": {"issuer": issuer.issuer, "clientId": issuer.client_id, "audience": issuer.client_id,
                     "scope": "openid email profile", **extra}}


def site(tmp_path: Path, config: dict[str, Any], api: Api, connect: str = "") -> Any:
    dist = tmp_path / "dist"
    fb.build(fb.DEFAULT_SRC, dist, config)
    return serve_site(dist, api.routes(), connect)


def origins(seen: dict[str, Any]) -> set[str]:
    return {"{0.scheme}://{0.netloc}".format(urlsplit(r["url"])) for r in seen["requests"]}


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_pkce_sign_in_keeps_the_token_in_memory_and_sends_it(tmp_path: Path, issuer: FakeIssuer) -> None:
    api = Api(issuer)
    with site(tmp_path, auth_config(issuer), api, " " + issuer.origin) as server:
        seen = run_tab(server.origin, [*SIGN_IN, {"chat": "hi"}])
    start, clicked, back, chatted = seen["snapshots"]
    assert (start["auth"], start["signIn"], start["user"]) == (True, True, None)
    # The redirect to the authorize endpoint: a top-level navigation carrying the PKCE challenge.
    authorize = query(clicked["navigation"])
    pending = json.loads(clicked["sessionStorage"]["site-auth-pending"])
    assert clicked["navigation"].startswith(f"{issuer.origin}/authorize?")
    assert authorize["response_type"] == "code" and authorize["client_id"] == issuer.client_id
    assert authorize["redirect_uri"] == f"{server.origin}/" and authorize["scope"] == "openid email profile"
    assert authorize["code_challenge_method"] == "S256" and authorize["state"] == pending["state"]
    digest = hashlib.sha256(pending["verifier"].encode()).digest()
    assert authorize["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert "audience" not in authorize  # the audience is the client id: nothing extra to ask for
    # The token exchange sends the verifier; the issuer checked it against the challenge.
    (token_call,) = [s for s in issuer.seen if s.path == "/token"]
    form = {k: v[0] for k, v in parse_qs(token_call.body).items()}
    assert form["code_verifier"] == pending["verifier"] and form["grant_type"] == "authorization_code"
    assert issuer.errors == [] and len(issuer.tokens) == 1
    # Back on the site: signed in, the code gone from the address bar, nothing left in storage.
    assert back["url"] == f"{server.origin}/" and back["user"] == "Ada Lovelace"
    assert (back["signIn"], back["signOut"], back["authError"]) == (False, True, None)
    assert back["sessionStorage"] == {} and seen["localWrites"] == [] and seen["cookies"] == []
    token = issuer.tokens[0]
    assert all(token not in json.dumps(s) for s in seen["snapshots"])
    # Every API call after sign-in carries the bearer token, and the API accepted it.
    api_calls = [s for s in server.seen if s.path.startswith(("/api/", "/inference/"))]
    assert api_calls[-1].path == "/inference/chat" and api_calls[-1].headers["authorization"] == f"Bearer {token}"
    assert [s.headers.get("authorization") for s in api_calls] == [None, f"Bearer {token}", f"Bearer {token}"]
    assert chatted["log"] == [["user", "hi"], ["assistant", "hello"]] and chatted["chatError"] is None
    # Under the CSP: only the site itself and the identity provider were contacted.
    assert seen["blocked"] == [] and origins(seen) == {server.origin, issuer.origin}


def test_a_reload_forgets_the_token_and_sign_out_ends_the_provider_session(
        tmp_path: Path, issuer: FakeIssuer) -> None:
    with site(tmp_path, auth_config(issuer), Api(issuer), " " + issuer.origin) as server:
        seen = run_tab(server.origin, [*SIGN_IN, {"open": "/"}, *SIGN_IN[1:], {"click": "sign-out"}])
    reloaded, signed_out = seen["snapshots"][3], seen["snapshots"][-1]
    assert reloaded["user"] is None and reloaded["signIn"]  # memory only: a new page knows nothing
    assert signed_out["user"] is None and signed_out["signIn"] and not signed_out["signOut"]
    logout = query(signed_out["navigation"])
    assert signed_out["navigation"].startswith(f"{issuer.origin}/logout?")
    assert logout["client_id"] == issuer.client_id and logout["post_logout_redirect_uri"] == f"{server.origin}/"
    assert logout["id_token_hint"].count(".") == 2


@pytest.mark.parametrize("callback", ["/?code=stolen&state=forged", "/?code=stolen"])
def test_a_callback_whose_state_does_not_match_is_refused(
        tmp_path: Path, issuer: FakeIssuer, callback: str) -> None:
    """Login CSRF: an answer to someone else's sign-in never reaches the token endpoint."""
    with site(tmp_path, auth_config(issuer), Api(issuer), " " + issuer.origin) as server:
        seen = run_tab(server.origin, [{"open": "/"}, {"click": "sign-in"}, {"open": callback}])
    last = seen["snapshots"][-1]
    assert "sign-in refused" in last["authError"] and last["user"] is None and last["signIn"]
    assert last["url"] == f"{server.origin}/" and last["sessionStorage"] == {}
    assert not [s for s in issuer.seen if s.path == "/token"]


def test_a_callback_in_a_tab_that_started_no_sign_in_is_refused(tmp_path: Path, issuer: FakeIssuer) -> None:
    with site(tmp_path, auth_config(issuer), Api(issuer), " " + issuer.origin) as server:
        seen = run_tab(server.origin, [{"open": "/?code=abc&state=abc"}])
    assert "sign-in refused" in seen["snapshots"][0]["authError"]
    assert not [s for s in issuer.seen if s.path == "/token"]


def test_an_id_token_for_another_sign_in_is_refused(tmp_path: Path, issuer: FakeIssuer) -> None:
    issuer.user = {**issuer.user, "nonce": "replayed"}
    with site(tmp_path, auth_config(issuer), Api(issuer), " " + issuer.origin) as server:
        seen = run_tab(server.origin, SIGN_IN)
    last = seen["snapshots"][-1]
    assert "ID token was not issued for this sign-in" in last["authError"] and last["user"] is None


def test_a_401_shows_sign_in_again(tmp_path: Path, issuer: FakeIssuer) -> None:
    api = Api(issuer)
    with site(tmp_path, auth_config(issuer), api, " " + issuer.origin) as server:
        signed_in = run_tab(server.origin, [*SIGN_IN, {"chat": "one"}])
        assert signed_in["snapshots"][-1]["user"] == "Ada Lovelace"
        api.revoked = True
        seen = run_tab(server.origin, [*SIGN_IN, {"chat": "two"}])
    last = seen["snapshots"][-1]
    assert last["chatError"] == "HTTP 401: sign in to continue"
    assert last["signIn"] and not last["signOut"] and last["user"] is None
    assert last["input"] == "two"  # kept for a retry after signing in


def test_configured_endpoints_skip_discovery_and_sign_out_uses_cognito_logout(tmp_path: Path) -> None:
    """Cognito: the issuer (a path on cognito-idp) is never contacted; the hosted domain is."""
    cognito = FakeIssuer(issuer_path="/us-east-1_pool")
    try:
        config = auth_config(cognito, authorizeUrl=f"{cognito.origin}/oauth2/authorize",
                             tokenUrl=f"{cognito.origin}/oauth2/token")
        with site(tmp_path, config, Api(cognito), " " + cognito.origin) as server:
            seen = run_tab(server.origin, [*SIGN_IN, {"click": "sign-out"}])
    finally:
        cognito.close()
    back, out = seen["snapshots"][2], seen["snapshots"][3]
    assert back["user"] == "Ada Lovelace" and cognito.errors == []
    assert not [s for s in cognito.seen if "well-known" in s.path]
    assert out["navigation"].startswith(f"{cognito.origin}/logout?")
    assert query(out["navigation"]) == {"client_id": cognito.client_id, "logout_uri": f"{server.origin}/"}


def test_an_other_audience_is_asked_for_and_the_name_falls_back_to_email(tmp_path: Path, issuer: FakeIssuer) -> None:
    issuer.user = {"sub": "u-2", "email": "bob@example.com"}
    config = auth_config(issuer)
    config["auth"]["audience"] = "https://api.example.com"
    with site(tmp_path, config, Api(issuer), " " + issuer.origin) as server:
        seen = run_tab(server.origin, SIGN_IN)
    assert query(seen["snapshots"][1]["navigation"])["audience"] == "https://api.example.com"
    assert seen["snapshots"][-1]["user"] == "bob@example.com"


def test_without_the_provider_in_connect_src_sign_in_is_blocked(
        tmp_path: Path, issuer: FakeIssuer) -> None:
    """The harness enforces the distribution's CSP: this is what happens if the header lacks the origin."""
    with site(tmp_path, auth_config(issuer), Api(issuer)) as server:
        seen = run_tab(server.origin, [{"open": "/?code=abc&state=xyz"}])
    assert {b["directive"] for b in seen["blocked"]} == {"connect-src"}
    assert "sign-in settings: network error" in seen["snapshots"][0]["authError"]
    assert not seen["snapshots"][0]["signIn"]
    assert seen["snapshots"][0]["url"] == f"{server.origin}/"  # the code left the address bar anyway


def test_without_auth_the_site_shows_no_sign_in_and_sends_no_token(tmp_path: Path, issuer: FakeIssuer) -> None:
    calls: list[Seen] = []
    api = Api(issuer)
    routes = {**api.routes(), "/inference/chat": lambda s: (calls.append(s), json_reply(200, REPLY))[1]}
    dist = tmp_path / "dist"
    fb.build(fb.DEFAULT_SRC, dist)
    with serve_site(dist, routes) as server:
        seen = run_tab(server.origin, [{"open": "/"}, {"chat": "hi"}])
    last = seen["snapshots"][-1]
    assert (last["auth"], last["signIn"], last["authError"]) == (False, False, None)
    assert last["log"] == [["user", "hi"], ["assistant", "hello"]]
    assert "authorization" not in calls[0].headers and origins(seen) == {server.origin}
    assert isinstance(server, SiteServer)


SCRIPT_SINKS = r"\beval\s*\(|new\s+Function\b|\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|\.style\."


def test_the_built_site_has_nothing_the_csp_blocks(tmp_path: Path, issuer: FakeIssuer) -> None:
    import re

    dist = tmp_path / "dist"
    fb.build(fb.DEFAULT_SRC, dist, auth_config(issuer))
    for page in dist.glob("*.html"):
        html = page.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", html), "inline style or handler"
        for ref in fb.asset_refs(page.name, html):
            assert not ref.startswith(("http:", "https:", "//")), ref
        (meta,) = re.findall(r'http-equiv="Content-Security-Policy"\s+content="([^"]*)"', html)
        assert f"connect-src 'self' {issuer.origin};" in meta and "script-src 'self';" in meta
    for script in dist.glob("*.js"):
        assert not re.search(SCRIPT_SINKS, script.read_text()), script.name
        assert not re.search(r"setTimeout\(\s*[\"'`]", script.read_text())
    for sheet in dist.glob("*.css"):
        assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", sheet.read_text()), sheet.name
