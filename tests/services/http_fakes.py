"""Local HTTP servers the service tests start: a sign-in issuer (discovery document and JWKS)
and a Bedrock runtime endpoint speaking the event-stream wire format; plus token minting and
a helper that starts a service's console script under uvicorn.

Not a test module (no test_ prefix) and uniquely named, so it cannot collide with the rest of tests/.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import service_fork
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from services_testkit import Service, bin_dir, free_port, stop, wait_for_http

AUDIENCE = "platform-api"


@dataclass
class SigningKey:
    kid: str
    algorithm: str = "RS256"
    private: Any = None

    def __post_init__(self) -> None:
        if self.private is None:
            self.private = (
                rsa.generate_private_key(public_exponent=65537, key_size=2048)
                if self.algorithm == "RS256"
                else ec.generate_private_key(ec.SECP256R1())
            )

    def jwk(self) -> dict[str, Any]:
        tool = RSAAlgorithm if self.algorithm == "RS256" else ECAlgorithm
        data = json.loads(tool.to_jwk(self.private.public_key()))
        return {**data, "kid": self.kid, "use": "sig", "alg": self.algorithm}


@dataclass
class Issuer:
    """Serves `<url>/.well-known/openid-configuration` and `<url>/jwks.json`; counts key-set fetches."""

    keys: list[SigningKey]
    url: str = ""
    jwks_fetches: int = 0
    server: ThreadingHTTPServer | None = field(default=None, repr=False)

    def token(self, key: SigningKey | None = None, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        key = key or self.keys[0]
        now = int(time.time())
        body = {"iss": self.url, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 300, **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key.private, algorithm=key.algorithm, headers={"kid": key.kid, **(headers or {})})


def _issuer_handler(issuer: Issuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/.well-known/openid-configuration":
                body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks.json"}
            elif self.path == "/jwks.json":
                issuer.jwks_fetches += 1
                body = {"keys": [key.jwk() for key in issuer.keys]}
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[str]:
    """Serve a fake on a thread of its own; its base URL while the block runs, shut down after."""
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def running_issuer(*keys: SigningKey) -> Iterator[Issuer]:
    issuer = Issuer(keys=list(keys) or [SigningKey("k1")])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _issuer_handler(issuer))
    with serving(server) as url:
        issuer.url, issuer.server = url, server
        yield issuer


@contextmanager
def silent_listener() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers: a hung upstream."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


# --- a Bedrock runtime endpoint ---------------------------------------------------------------


@dataclass
class FakeBedrock:
    """`script(handler)` writes the answer to each request; `closed_at` records when a client's
    connection was seen closed while the script waited on it (see `hold`)."""

    script: Callable[[BaseHTTPRequestHandler], None]
    url: str = ""
    requests: list[str] = field(default_factory=list)
    closed_at: list[float] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)  # each request's body, in order

    def answer_with(self, script: Callable[[FakeBedrock, BaseHTTPRequestHandler], None]) -> FakeBedrock:
        """From now on `script` answers, with nothing recorded yet: one fake (and the service
        pointed at it) can then serve a whole module of tests, each with its own answers."""
        self.requests.clear()
        self.bodies.clear()
        self.closed_at.clear()
        self.script = lambda handler: script(self, handler)
        return self


def start_event_stream(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/vnd.amazon.eventstream")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.send_header("x-amzn-RequestId", str(uuid.uuid4()))
    handler.end_headers()


def send_frame(handler: BaseHTTPRequestHandler, frame: bytes) -> None:
    handler.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
    handler.wfile.flush()


def end_event_stream(handler: BaseHTTPRequestHandler) -> None:
    handler.wfile.write(b"0\r\n\r\n")
    handler.wfile.flush()


def hold(fake: FakeBedrock, handler: BaseHTTPRequestHandler, seconds: float) -> bool:
    """Stay silent for `seconds`; return False (and record when) if the client closed meanwhile."""
    sock = handler.connection
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(0.05)
        try:
            if sock.recv(1, socket.MSG_PEEK) == b"":
                fake.closed_at.append(time.monotonic())
                return False
        except TimeoutError:
            continue
        except OSError:
            fake.closed_at.append(time.monotonic())
            return False
    sock.settimeout(None)
    return True


def _bedrock_handler(fake: FakeBedrock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            fake.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            fake.requests.append(self.path)
            try:
                fake.script(self)
            except OSError:
                fake.closed_at.append(time.monotonic())
            self.close_connection = True

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_bedrock(script: Callable[[FakeBedrock, BaseHTTPRequestHandler], None]) -> Iterator[FakeBedrock]:
    fake = FakeBedrock(script=lambda handler: None).answer_with(script)
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _bedrock_handler(fake))) as url:
        fake.url = url
        yield fake


# --- a service under uvicorn --------------------------------------------------------------------


@dataclass
class Running:
    process: service_fork.ForkedService | subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)  # stdout lines, filled when stopped


def service_env(port: int, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AUTH_", "BEDROCK_", "MAX_"))}
    fake_aws = {
        "AWS_ACCESS_KEY_ID": "AKIATESTTESTTESTTEST",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    return {**base, **fake_aws, "HOST": "127.0.0.1", "PORT": str(port), "IMAGE_TAG": "http-test", **extra}


@contextmanager
def running_service(service: Service, **env: str) -> Iterator[Running]:
    port = free_port()
    process = service_fork.start(f"{service.package}.__main__:main", str(bin_dir() / service.name),
                                 service_env(port, **env))
    running = Running(process, f"http://127.0.0.1:{port}")
    try:
        wait_for_http(f"{running.url}{service.ready_path}", process)
        yield running
    finally:
        if process.poll() is None:
            _, out, _ = stop(process)
        else:
            out, _ = process.communicate()
        running.output.extend(out.splitlines())


# --- plain HTTP calls -------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    raw: bytes | None = None,
    timeout: float = 30,
) -> Answer:
    """One request on a fresh connection; `body` is sent as JSON, `raw` as it is."""
    import http.client

    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def assert_error_shape(answer: Answer, status: int, code: str | None = None) -> dict[str, Any]:
    """The one error shape: exactly code, message and request_id, the id matching the header."""
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert set(answer.json()) == {"error"} and set(error) == {"code", "message", "request_id"}
    assert error["request_id"] == answer.headers["x-request-id"]
    assert len(error["message"]) <= 300
    if code is not None:
        assert error["code"] == code
    return error
