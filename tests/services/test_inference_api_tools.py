"""The agent's tools against local fakes (no network): the fetch allow-list and address checks,
redirects, the calculator's refusal of code, web search's query check (test_inference_api_search.py
runs the search itself), and the guard's time limit inside a real agent run."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from agent_fakes import scripted, sse_events, text_frames, tool_call_frames
from fastapi.testclient import TestClient
from http_fakes import running_bedrock, silent_listener
from inference_api.agent_settings import AgentSettings
from inference_api.agent_tools import implementations
from inference_api.app import create_app
from inference_api.config import Settings
from inference_api.tools_basic import ToolInputError, calculator, current_time
from inference_api.tools_web import http_fetch, public_address, web_search
from services_testkit import OPEN

HOST = "docs.example.test"


@contextmanager
def web_server(routes: dict[str, tuple[int, dict[str, str], bytes]]) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            status, headers, body = routes.get(self.path, (404, {}, b"missing"))
            self.send_response(status)
            for k, v in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def loopback_allowed(ip: Any) -> bool:
    """The test server is on loopback, which the real policy refuses: this policy admits it alone."""
    return ip.is_loopback


def fixed(*addresses: str) -> Any:
    return lambda host, port: list(addresses)


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.170.2", "127.0.0.1", "10.0.0.5", "172.16.3.4",
                                     "192.168.1.1", "100.64.0.1", "::1", "fe80::1", "fd00::1", "::ffff:169.254.169.254",
                                     "0.0.0.0", "224.0.0.1"])
def test_the_address_policy_refuses_metadata_loopback_and_private_ranges(address: str) -> None:
    assert not public_address(ipaddress.ip_address(address))
    with pytest.raises(ToolInputError, match="non-public address"):
        http_fetch({"url": f"http://{HOST}/"}, (HOST,), 2, resolver=fixed(address))


def test_public_addresses_pass_the_policy() -> None:
    assert public_address(ipaddress.ip_address("93.184.216.34"))
    assert public_address(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))


def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    with pytest.raises(ToolInputError, match="non-public"):
        http_fetch({"url": f"https://{HOST}/"}, (HOST,), 2, resolver=fixed("93.184.216.34", "10.1.2.3"))


@pytest.mark.parametrize("url", ["http://evil.example/", "http://169.254.169.254/latest/meta-data/",
                                 f"ftp://{HOST}/x", f"http://{HOST}.evil.example/", "file:///etc/passwd"])
def test_hosts_off_the_allow_list_and_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(ToolInputError):
        http_fetch({"url": url}, (HOST,), 2, resolver=fixed("93.184.216.34"))


def test_fetch_connects_to_the_checked_address_and_follows_checked_redirects() -> None:
    routes = {"/start": (302, {"Location": "/page"}, b""),
              "/page": (200, {"Content-Type": "text/plain"}, b"hello from the page"),
              "/away": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
              "/other": (301, {"Location": "http://other.example.test/"}, b"")}
    with web_server(routes) as port:
        fetch = partial(http_fetch, allowed_hosts=(HOST,), timeout=2, policy=loopback_allowed,
                        resolver=fixed("127.0.0.1"))
        assert fetch({"url": f"http://{HOST}:{port}/start"}) == "HTTP 200 text/plain\nhello from the page"
        with pytest.raises(ToolInputError, match="not allowed"):  # the redirect's host is checked again
            fetch({"url": f"http://{HOST}:{port}/other"})
        with pytest.raises(ToolInputError, match="not allowed"):
            fetch({"url": f"http://{HOST}:{port}/away"})
    # And a redirect to an allowed name that resolves privately is refused by the address check.
    with web_server({"/": (302, {"Location": f"http://{HOST}/x"}, b"")}) as port:
        calls = iter([["127.0.0.1"], ["10.0.0.1"]])
        with pytest.raises(ToolInputError, match="non-public"):
            http_fetch({"url": f"http://{HOST}:{port}/"}, (HOST,), 2,
                       policy=lambda ip: ip.is_loopback or False, resolver=lambda h, p: next(calls))


@pytest.mark.parametrize("expression", ["__import__('os').system('id')", "open('/etc/passwd')", "(1).__class__",
                                        "x", "[1,2]", "lambda: 1", "9**9**9", "2**100000"])
def test_the_calculator_runs_no_code(expression: str) -> None:
    with pytest.raises(ToolInputError):
        calculator({"expression": expression})


def test_the_calculator_and_clock_answer() -> None:
    assert calculator({"expression": "(17 * 23) / 4"}) == "97.75"
    assert calculator({"expression": "sqrt(16) + 2**3"}) == "12.0"
    assert current_time({"timezone": "Europe/Berlin"})[-6:] in ("+01:00", "+02:00")
    with pytest.raises(ToolInputError, match="time zone"):
        current_time({"timezone": "Mars/Olympus"})


def test_web_search_refuses_an_empty_or_huge_query_before_searching() -> None:
    for query in (" ", "x" * 401):
        with pytest.raises(ToolInputError, match="1 to 400"):
            web_search({"query": query}, 5, proxy="http://127.0.0.1:9")  # a closed port: never reached


def test_a_tool_past_its_time_limit_becomes_an_error_result(aws_credentials: None, monkeypatch: Any) -> None:
    """A fetch of a server that never answers: the guard gives up at AGENT_TOOL_TIMEOUT_SECONDS."""
    agent = AgentSettings(tools=("http_fetch",), fetch_allowed_hosts=(HOST,), tool_timeout_seconds=0.5)
    with silent_listener() as hung:
        port = int(hung.rsplit(":", 1)[1])
        script = scripted(tool_call_frames("http_fetch", {"url": f"http://{HOST}:{port}/slow"}), text_frames("gave up"))
        answer = _run_with(agent, script, monkeypatch)
    events = sse_events(answer)
    assert [n for n, _ in events] == ["tool_start", "tool_result", "delta", "done"]
    result = events[1][1]
    assert result["status"] == "error" and "did not finish within 0.5 s" in result["summary"]
    assert 400 <= result["duration_ms"] < 3000


def _run_with(agent: AgentSettings, script: Any, monkeypatch: Any) -> bytes:
    with running_bedrock(script) as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
        app = create_app(Settings(auth=OPEN, agent=agent, bedrock_max_attempts=1))
        impls = implementations(agent)
        impls["http_fetch"] = partial(http_fetch, allowed_hosts=(HOST,), timeout=30, policy=loopback_allowed,
                                      resolver=lambda h, p: ["127.0.0.1"])
        app.state.agent_tool_impls = impls
        with TestClient(app) as client:
            return client.post("/inference/agent", json={"prompt": "fetch it"}).content
