"""Request hardening over real HTTP, both services under uvicorn: the body limit (413, also for
chunked bodies without Content-Length), non-finite JSON numbers (422, never 500), one error
shape for every failure, and docs that run under the site's CSP (or are off)."""

from __future__ import annotations

import http.client
import re
import select
import socket
from collections.abc import Iterator

import pytest
from http_fakes import Answer, Running, assert_error_shape, call, running_service
from services_testkit import APP_API, INFERENCE_API, NO_AUTH, Service

TEN_MB = 10 * 2**20
SERVICES = [APP_API, INFERENCE_API]
IDS = [s.name for s in SERVICES]
# The route of each service that takes a JSON body (its sign-in is off here: not the point).
WRITE = {APP_API.name: "/api/items", INFERENCE_API.name: "/inference/chat"}
PREFIX = {APP_API.name: "/api", INFERENCE_API.name: "/inference"}


@pytest.fixture(scope="module", params=SERVICES, ids=IDS)
def running(request: pytest.FixtureRequest) -> Iterator[tuple[Service, Running]]:
    with running_service(request.param, **NO_AUTH) as service:
        yield request.param, service


def _read_answer(sock: socket.socket) -> Answer:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(rest) < int(headers.get("content-length", 0)):
        rest += sock.recv(65536)
    return Answer(int(lines[0].split()[1]), headers, rest)


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def test_a_declared_10_mb_body_is_413_before_it_is_sent(running: tuple[Service, Running]) -> None:
    service, app = running
    with _connect(app.url) as sock:
        head = f"POST {WRITE[service.name]} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        sock.sendall(f"{head}Content-Length: {TEN_MB}\r\n\r\n".encode())
        answer = _read_answer(sock)  # no byte of the body was sent: the header alone decides
    assert_error_shape(answer, 413, "payload_too_large")


def test_a_client_that_sends_all_10_mb_first_still_reads_the_413(running: tuple[Service, Running]) -> None:
    """Most clients send the whole body before reading: the connection must not be reset under them."""
    service, app = running
    host, port = app.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("POST", WRITE[service.name], body=b"x" * TEN_MB, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    assert_error_shape(answer, 413, "payload_too_large")
    conn.request("GET", service.health_path)  # the same connection goes on serving
    assert conn.getresponse().status == 200
    conn.close()


def test_a_chunked_10_mb_body_is_413_once_it_passes_the_limit(running: tuple[Service, Running]) -> None:
    service, app = running
    chunk = b"x" * 65536
    sent = 0
    with _connect(app.url) as sock:
        head = f"POST {WRITE[service.name]} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        sock.sendall(f"{head}Transfer-Encoding: chunked\r\n\r\n".encode())
        while sent < TEN_MB and not select.select([sock], [], [], 0.02)[0]:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        answer = _read_answer(sock)
    assert_error_shape(answer, 413, "payload_too_large")
    assert sent < 2 * 2**20, "the service answered soon after the 1 MiB limit, without reading the rest"
    assert answer.headers["connection"] == "close", "a chunked body of unknown size is not drained"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" * 5000])
def test_non_finite_numbers_are_422_not_500(running: tuple[Service, Running], number: str) -> None:
    service, app = running
    raw = '{"name": "a", "messages": [{"role": "user", "content": "Hi"}], "temperature": ' + number + "}"
    error = assert_error_shape(call(app.url, "POST", WRITE[service.name], raw=raw.encode()), 422, "invalid_request")
    assert number not in error["message"] or len(number) < 10


def test_every_error_has_the_one_shape_and_never_echoes_the_input(running: tuple[Service, Running]) -> None:
    service, app = running
    long = "q" * 5000
    assert_error_shape(call(app.url, "GET", f"{PREFIX[service.name]}/nowhere-{long[:100]}"), 404, "not_found")
    answer = call(app.url, "PUT", WRITE[service.name], {"x": 1})
    assert_error_shape(answer, 405, "method_not_allowed")
    invalid = call(app.url, "POST", WRITE[service.name], {"name": long, "messages": long, long: long})
    error = assert_error_shape(invalid, 422, "invalid_request")
    assert long[:50] not in invalid.body.decode(), "the input is not echoed back"
    assert error["message"]
    assert_error_shape(call(app.url, "POST", WRITE[service.name], raw=b"{not json"), 422, "invalid_request")


def test_docs_load_only_same_origin_files_and_no_inline_script(running: tuple[Service, Running]) -> None:
    service, app = running
    page = call(app.url, "GET", f"{PREFIX[service.name]}/docs")
    assert page.status == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    html = page.body.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(body.strip() == "" and "src=" in attrs for attrs, body in scripts), "no inline script"
    assert "style=" not in html and "<style" not in html and "//" not in re.sub(r"<!doctype[^>]*>", "", html)
    for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert ref.startswith(f"{PREFIX[service.name]}/docs/"), ref
        asset = call(app.url, "GET", ref)
        assert asset.status == 200 and len(asset.body) > 100, ref
    assert call(app.url, "GET", f"{PREFIX[service.name]}/openapi.json").status == 200


@pytest.mark.parametrize("service", SERVICES, ids=IDS)
def test_docs_can_be_turned_off(service: Service) -> None:
    with running_service(service, **NO_AUTH, DOCS_ENABLED="false") as app:
        for path in ("/docs", "/openapi.json", "/docs/init.js"):
            assert_error_shape(call(app.url, "GET", f"{PREFIX[service.name]}{path}"), 404, "not_found")
        assert call(app.url, "GET", service.health_path).status == 200
