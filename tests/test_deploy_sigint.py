"""Ctrl-C at each step of a foundation stack's first create, then a rerun that must converge with
termination protection on. A gate between deploy.py and the emulator holds the call of the chosen
step; the test sends SIGINT once it sees that call arrive (never after a bare sleep)."""

from __future__ import annotations

import http.client
import signal
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest
from deploy_support import Aws, clean_env
from zygote_support import popen_deploy

STACK = "layered-dev-registry"


class Gate(BaseHTTPRequestHandler):
    """Forwards to the emulator; the first call of `action` waits for `release`, then is forwarded or dropped."""

    target, action, drop = "", "", False
    seen = threading.Event()
    release = threading.Event()

    def log_message(self, *args: object) -> None:
        return

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if body.startswith(f"Action={Gate.action}&".encode()) and not Gate.seen.is_set():
            Gate.seen.set()
            Gate.release.wait(30)
            if Gate.drop:  # the endpoint dies with the call unanswered
                self.close_connection = True
                return
        url = urlparse(Gate.target)
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

    do_GET = do_POST = _forward


@pytest.mark.parametrize("action, drop, expected, rerun", [
    # before the change set exists: nothing is left, the rerun creates the stack
    ("CreateChangeSet", False, "interrupted", "registry        CREATE_COMPLETE"),
    # the create runs, Ctrl-C lands in the wait: created but never protected by this run
    ("ExecuteChangeSet", False, "interrupted", "registry        no changes"),
    # created; Ctrl-C, and the endpoint dies before protect answers
    ("UpdateTerminationProtection", True, "error: AWS call failed", "registry        no changes"),
])
def test_sigint_during_a_foundation_create_then_a_rerun_converges(aws: Aws, action: str, drop: bool,
                                                                   expected: str, rerun: str) -> None:
    Gate.target, Gate.action, Gate.drop = aws.url, action, drop
    Gate.seen.clear()
    Gate.release.clear()
    gate = ThreadingHTTPServer(("127.0.0.1", 0), Gate)
    threading.Thread(target=gate.serve_forever, daemon=True).start()
    env = {**clean_env(f"http://127.0.0.1:{gate.server_port}"), "PYTHONUNBUFFERED": "1"}
    proc = popen_deploy(["--stack", "registry", "--yes"], env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    noticed = threading.Event()  # the child printed that it handled Ctrl-C

    def read_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("interrupted:"):
                noticed.set()

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    try:
        assert Gate.seen.wait(60), f"deploy.py never called {action}"
        proc.send_signal(signal.SIGINT)
        # The gated call is answered only once the handler ran (a condition, not a sleep): on a busy
        # machine the signal could otherwise land after the call returned and the stack was created.
        assert noticed.wait(60), "deploy.py never reported the interrupt: " + "".join(lines)
        Gate.release.set()
        err = proc.communicate(timeout=60)[1]
        reader.join(10)
        out = "".join(lines)
    finally:
        Gate.release.set()
        gate.shutdown()
    assert proc.returncode == 1, out + err
    assert expected in out + err and "Traceback" not in err
    again = aws.deploy("--stack", "registry", "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    stack = aws.stacks()[STACK]
    assert stack["StackStatus"] == "CREATE_COMPLETE" and stack["EnableTerminationProtection"] is True
    assert rerun in again.stdout
    assert "termination protection on (foundation stack)" in again.stdout
