"""Listen before uvicorn is imported: the health check answers while the server itself loads.

`import uvicorn` costs more CPU than anything else before the port opens (its package imports
click for the command line we never use): ~0.3 s quiet, over 1 s with the cores busy. So the
socket is bound first, and a thread answers `GET <health path>` on it with the early body (plain
sockets, nothing to import) while the main thread imports uvicorn. Then the thread stops (it
accepts nothing more; connections arriving meanwhile wait in the listen backlog) and uvicorn
serves the same socket: EarlyApp takes over the health answer while the application loads.

Any other request meets a server that is not running yet: 503 in the one error shape with
`Retry-After: 1` (the load balancer sends no traffic before the health check passes).
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Mapping
from typing import Any

_POLL_SECONDS = 0.02  # how soon the thread notices it must stop; also the longest a stop waits
_MAX_HEAD_BYTES = 8192
_SOCKET_SECONDS = 2.0


def plain_health_body(service: str, version: str, image_tag: str, fields: Mapping[str, Any] | None = None) -> bytes:
    """health.health_body's bytes for health.Health plus `fields` (str, bool, int), without pydantic."""
    body = {"status": "ok", "service": service, "version": version, "image_tag": image_tag, **(fields or {})}
    return json.dumps(body, separators=(",", ":")).encode()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket as uvicorn binds one (SO_REUSEADDR, its backlog of 2048)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


class PreListener:
    """Answers the health check on `sock` from a thread until stop(); then the socket is uvicorn's."""

    def __init__(self, sock: socket.socket, health_path: str, health_body: bytes) -> None:
        self.sock = sock
        self._health = _response(200, health_body, b"")
        self._path = health_path.encode()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="prelisten", daemon=True)

    def start(self) -> PreListener:
        self.sock.settimeout(_POLL_SECONDS)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        self.sock.settimeout(None)

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:  # the socket was closed under us: the process is ending
                return
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(_SOCKET_SECONDS)
        try:
            head = _read_head(conn)
            method, _, rest = head.partition(b" ")
            target = rest.partition(b" ")[0].partition(b"?")[0]
            conn.sendall(self._health if (method, target) == (b"GET", self._path) else _starting())
        except OSError:  # a client that went away or never finished its request
            return


def _read_head(conn: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head and len(head) < _MAX_HEAD_BYTES:
        chunk = conn.recv(4096)
        if not chunk:
            break
        head += chunk
    return head


def _starting() -> bytes:
    request_id = os.urandom(16).hex()
    error = {"code": "unavailable", "message": "the service is starting; retry shortly", "request_id": request_id}
    body = json.dumps({"error": error}, separators=(",", ":")).encode()
    return _response(503, body, b"retry-after: 1\r\nx-request-id: %s\r\n" % request_id.encode())


def _response(status: int, body: bytes, extra: bytes) -> bytes:
    reason = b"OK" if status == 200 else b"Service Unavailable"
    return (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%sconnection: close\r\n\r\n"
            % (status, reason, len(body), extra)) + body
