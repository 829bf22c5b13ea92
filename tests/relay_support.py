"""A relay in front of the emulator, for tests that must see (or refuse) deploy.py's calls the way
an AWS-side policy would: a subclass decides per request, then forwards it or answers itself."""

from __future__ import annotations

import http.client
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit


class Relay(BaseHTTPRequestHandler):
    """`upstream` is the emulator's URL; a subclass's `relay` reads the body, then calls `forward` or `answer`."""

    upstream = ""

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def forward(self, body: bytes, timeout: float = 60) -> None:
        host = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=timeout)
        try:
            conn.request(self.command, self.path, body=body, headers=dict(self.headers))
            answer = conn.getresponse()
            self.answer(answer.status, dict(answer.getheaders()), answer.read())
        finally:
            conn.close()

    def answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def relay(self) -> None:
        self.forward(self.read_body())

    def do_GET(self) -> None:
        self.relay()

    do_PUT = do_POST = do_HEAD = do_DELETE = do_GET

    def log_message(self, *args: object) -> None:
        pass
