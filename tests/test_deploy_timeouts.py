"""Time limits: an endpoint that never answers, one that refuses connections, and one that throttles.

Each is a real local server the test starts; deploy.py runs as a subprocess against it.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest
from deploy_support import Aws, clean_env
from state_support import snapshot
from zygote_support import popen_deploy

THROTTLE = (b'<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>'
            b'</Error><RequestId>throttled</RequestId></ErrorResponse>')


@pytest.fixture
def silent_url() -> Iterator[str]:
    """Accepts every connection and never answers a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_silent_endpoint_is_named_within_30_seconds(aws: Aws, silent_url: str) -> None:
    """A read-only command and a deploy, side by side: both wait on the same silent socket (no CPU), so
    running them at once costs the suite one time limit instead of two and proves the same of each."""
    start = time.monotonic()
    runs = [popen_deploy(args, clean_env(silent_url), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
            for args in (["--status"], ["--stack", "all", "--yes"])]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 2, out + err
        line = err.strip()
        assert len(line.splitlines()) == 1 and line.startswith("error: ")
        assert f"{silent_url} accepted the connection but did not answer within 8 s, twice" in line
    assert time.monotonic() - start <= 30


def test_an_unreachable_endpoint_is_named_within_10_seconds(aws: Aws) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    start = time.monotonic()
    done = aws.deploy("--stack", "all", "--yes", env=clean_env(url))
    elapsed = time.monotonic() - start
    assert done.returncode == 2
    assert f"cannot connect to {url}" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert elapsed <= 10, elapsed


class Throttler(BaseHTTPRequestHandler):
    """Answers the first `budget` query-protocol calls (STS, CloudFormation) with Throttling, then forwards."""

    target = ""
    budget = 0
    throttled = 0
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        return

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with Throttler.lock:
            throttle = Throttler.throttled < Throttler.budget and body.startswith(b"Action=")
            Throttler.throttled += throttle
        if throttle:
            self.send_response(400)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(THROTTLE)))
            self.end_headers()
            self.wfile.write(THROTTLE)
            return
        url = urlparse(Throttler.target)
        conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
        conn.request(self.command, self.path, body, {k: v for k, v in self.headers.items() if k.lower() != "host"})
        answer = conn.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


def test_a_throttling_endpoint_slows_the_run_down_but_it_succeeds(aws: Aws) -> None:
    Throttler.target, Throttler.budget, Throttler.throttled = aws.url, 6, 0
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Throttler)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        done = aws.deploy("--stack", "registry", "--yes", env=clean_env(f"http://127.0.0.1:{proxy.server_port}"))
    finally:
        proxy.shutdown()
    assert done.returncode == 0, done.stdout + done.stderr
    assert Throttler.throttled == 6
    assert aws.stacks()["layered-dev-registry"]["StackStatus"] == "CREATE_COMPLETE"


def test_wait_takes_a_time_limit(aws: Aws) -> None:
    from deploy_support import set_status

    assert aws.deploy("--stack", "registry", "--yes").returncode == 0
    set_status("layered-dev-registry", "UPDATE_IN_PROGRESS")
    before = snapshot(aws)
    start = time.monotonic()
    done = aws.deploy("--stack", "registry", "--yes", "--wait", "2")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "is still UPDATE_IN_PROGRESS after 2 s (--wait 2)" in done.stderr
    assert 2 <= time.monotonic() - start < 20
    assert snapshot(aws) == before
