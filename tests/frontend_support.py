"""Real HTTP servers for the site's browser tests: the built site with scripted APIs behind it,
and a fake OpenID Connect issuer (discovery, authorize with PKCE, token, logout) on another port,
so the two are different origins exactly as the site and its identity provider are."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

HARNESS = Path(__file__).resolve().parents[1] / "services" / "frontend" / "tests" / "dom_harness.js"
TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "dev" / "frontend.json"
Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def json_reply(status: int, body: object, **headers: str) -> Reply:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


class _Server:
    """A threaded HTTP server whose requests go to `self.answer(seen)`; every request is recorded."""

    def __init__(self) -> None:
        owner = self
        self.seen: list[Seen] = []

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                            {k.lower(): v for k, v in self.headers.items()},
                            self.rfile.read(length).decode() if length else "")
                owner.seen.append(seen)
                status, headers, body = owner.answer(seen)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_OPTIONS = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # shutdown() waits for the loop to look at its flag, which it does every poll_interval
        # (0.5 s by default: half a second of every test that closed a server went on waiting).
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def answer(self, seen: Seen) -> Reply:
        raise NotImplementedError

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class SiteServer(_Server):
    """The built site (dist/) plus `routes`: path -> function(seen) -> reply, for the APIs."""

    def __init__(self, dist: Path, routes: dict[str, Callable[[Seen], Reply]], csp: str) -> None:
        self.dist, self.routes, self.csp = dist, routes, csp
        super().__init__()

    def answer(self, seen: Seen) -> Reply:
        if seen.path in self.routes:
            return self.routes[seen.path](seen)
        name = "index.html" if seen.path.endswith("/") else seen.path.lstrip("/")
        path = (self.dist / name).resolve()
        if not path.is_relative_to(self.dist.resolve()) or not path.is_file():
            return 404, {"Content-Type": "text/plain"}, b"not found"
        types = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json"}
        headers = {"Content-Type": types.get(path.suffix, "application/octet-stream"), "Cache-Control": "no-cache"}
        if path.suffix == ".html":
            headers["Content-Security-Policy"] = self.csp
        return 200, headers, path.read_bytes()


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    method: str
    nonce: str | None
    used: bool = False


@dataclass
class FakeIssuer(_Server):
    """Signs in `user` at once on /authorize (no login form) and follows OAuth 2.0 + PKCE to the letter."""

    client_id: str = "site-client"
    # Cognito's issuer is a path under another host; its endpoints live at /oauth2/* on the domain.
    issuer_path: str = ""
    user: dict[str, str] = field(default_factory=lambda: {"sub": "u-1", "name": "Ada Lovelace",
                                                           "email": "ada@example.com"})
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _Server.__init__(self)

    @property
    def issuer(self) -> str:
        return self.origin + self.issuer_path

    @property
    def discovery(self) -> dict[str, str]:
        return {"issuer": self.issuer, "authorization_endpoint": f"{self.origin}/authorize",
                "token_endpoint": f"{self.origin}/token", "end_session_endpoint": f"{self.origin}/logout",
                "jwks_uri": f"{self.origin}/jwks"}

    def answer(self, seen: Seen) -> Reply:
        cors = {"Access-Control-Allow-Origin": "*"}
        if seen.path == f"{self.issuer_path}/.well-known/openid-configuration":
            return json_reply(200, self.discovery, **cors)
        if seen.path in ("/authorize", "/oauth2/authorize"):
            return self.authorize(seen.query)
        if seen.path in ("/token", "/oauth2/token") and seen.method == "POST":
            status, body = self.token({k: v[0] for k, v in parse_qs(seen.body).items()})
            return json_reply(status, body, **cors)
        if seen.path == "/logout":
            return 200, {"Content-Type": "text/html"}, b"<p>signed out</p>"
        return 404, {}, b""

    def authorize(self, q: dict[str, str]) -> Reply:
        problem = ("response_type" if q.get("response_type") != "code" else
                   "client_id" if q.get("client_id") != self.client_id else
                   "code_challenge_method" if q.get("code_challenge_method") != "S256" else
                   "code_challenge" if len(q.get("code_challenge", "")) != 43 else "")
        if problem:
            self.errors.append(f"authorize: bad {problem}")
            return 400, {"Content-Type": "text/plain"}, f"bad {problem}".encode()
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(q["client_id"], q["redirect_uri"], q["code_challenge"], q["code_challenge_method"],
                                  q.get("nonce"))
        back = {"code": code, **({"state": q["state"]} if "state" in q else {})}
        return 302, {"Location": f"{q['redirect_uri']}?{urlencode(back)}"}, b""

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = self.grants.get(form.get("code", ""))
        verifier = form.get("code_verifier", "")
        if grant is None or grant.used:
            self.errors.append("token: unknown or reused code")
            return 400, {"error": "invalid_grant"}
        grant.used = True
        if (form.get("grant_type") != "authorization_code" or form.get("client_id") != grant.client_id
                or form.get("redirect_uri") != grant.redirect_uri
                or b64url(hashlib.sha256(verifier.encode()).digest()) != grant.challenge):
            self.errors.append("token: verifier, client or redirect_uri does not match")
            return 400, {"error": "invalid_grant"}
        access = secrets.token_urlsafe(24)
        self.tokens.append(access)
        now = int(time.time())
        # `user` comes last so a test can make the issuer answer with a wrong iss, aud or nonce.
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 3600,
                  **({"nonce": grant.nonce} if grant.nonce else {}), **self.user}
        return 200, {"access_token": access, "id_token": self.id_token(claims), "token_type": "Bearer",
                     "expires_in": 3600, "refresh_token": "never-kept-by-the-site"}

    @staticmethod
    def id_token(claims: dict[str, Any]) -> str:
        head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = b64url(json.dumps(claims).encode())
        sig = hmac.new(b"test-only", f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{b64url(sig)}"


def distribution_csp(connect: str) -> str:
    """The CSP the committed frontend template makes CloudFront send, with connect-src set to
    'self' plus `connect` (the test's identity provider stands where the real one would be)."""
    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"]
    csp = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    directives = [d.strip() for d in csp["ContentSecurityPolicy"].split(";") if d.strip()]
    return "; ".join(f"connect-src 'self'{connect}" if d.startswith("connect-src") else d for d in directives)


@contextmanager
def serve_site(dist: Path, routes: dict[str, Callable[[Seen], Reply]], extra_connect: str = "") -> Iterator[SiteServer]:
    server = SiteServer(dist, routes, distribution_csp(extra_connect))
    try:
        yield server
    finally:
        server.close()


def run_tab(origin: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Drive one browser tab (dom_harness.js) through `steps` against the site at `origin`."""
    done = subprocess.run(["node", str(HARNESS), json.dumps({"origin": origin, "steps": steps})],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
