"""The browser tool under uvicorn, with a fake of the `nova_act` library on the service's PYTHONPATH.

Playwright's Chromium cannot be downloaded here, so the library boundary is faked (tests/services/
fake_nova_act): everything on our side of it, the allow-list and address checks, the IAM workflow,
the guardrail, the time limit, the output cap and the error results, runs for real, and the fake
records what it was asked. The model is the fake Bedrock endpoint over HTTP.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from agent_fakes import sent_messages, text_frames, tool_call_frames
from http_fakes import FakeBedrock, Running, call, end_event_stream, running_bedrock, running_service, send_frame
from http_fakes import start_event_stream as start_stream
from inference_api.agent_settings import AgentSettings
from inference_api.tools_basic import ToolInputError
from inference_api.tools_browser import browser
from services_testkit import INFERENCE_API, NO_AUTH

FAKE_LIBRARY = Path(__file__).parent / "fake_nova_act"
PUBLIC = "1.1.1.1"  # an address literal: public, and resolved without DNS (no network here)
OUTPUT_CHARS = 500


def model_calls_the_browser(fake: FakeBedrock, handler: BaseHTTPRequestHandler) -> None:
    """The prompt is the browser tool's input as JSON: the model asks for it, then answers."""
    messages = json.loads(fake.bodies[-1])["messages"]
    if any("toolResult" in block for block in messages[-1]["content"]):
        frames = text_frames("done")
    else:
        frames = tool_call_frames("browser", json.loads(messages[0]["content"][0]["text"]))
    start_stream(handler)
    for frame in frames:
        send_frame(handler, frame)
    end_event_stream(handler)


@contextmanager
def browser_service(log: Path, with_library: bool = True) -> Iterator[tuple[Running, FakeBedrock]]:
    env = {"AGENT_TOOLS": "browser", "AGENT_FETCH_ALLOWED_HOSTS": f"{PUBLIC},169.254.170.2,10.0.0.5",
           "AGENT_TOOL_TIMEOUT_SECONDS": "2", "AGENT_TOOL_OUTPUT_CHARS": str(OUTPUT_CHARS),
           "AGENT_BROWSER_WORKFLOW": "layered-dev-inference-api", "BEDROCK_MAX_ATTEMPTS": "1",
           "FAKE_NOVA_ACT_LOG": str(log)}
    if with_library:
        env["PYTHONPATH"] = str(FAKE_LIBRARY)
    with running_bedrock(model_calls_the_browser) as fake, running_service(
        INFERENCE_API, **NO_AUTH, **env, AWS_ENDPOINT_URL_BEDROCK_RUNTIME=fake.url,
    ) as svc:
        yield svc, fake


def use_browser(svc: Running, url: str, instruction: str) -> dict[str, Any]:
    prompt = json.dumps({"url": url, "instruction": instruction})
    answer = call(svc.url, "POST", "/inference/agent?stream=false", {"prompt": prompt})
    assert answer.status == 200, answer.body[:300]
    (result,) = answer.json()["tools"]
    return result


def logged(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


REFUSED = [
    "http://169.254.170.2/v2/credentials",  # the Fargate credentials endpoint, even when listed
    "http://169.254.169.254/latest/meta-data/",  # instance metadata, not listed
    "http://10.0.0.5/admin",  # a private address, even when listed
    "https://unlisted.example/",
    "file:///etc/passwd",
]


def test_metadata_private_and_unlisted_pages_are_refused_before_anything_launches(tmp_path: Path) -> None:
    log = tmp_path / "nova.log"
    with browser_service(log) as (svc, _):
        results = [use_browser(svc, url, "answer") for url in REFUSED]
    assert [r["status"] for r in results] == ["error"] * len(REFUSED)
    assert "non-public address" in results[0]["summary"] and "non-public address" in results[2]["summary"]
    assert "not allowed" in results[1]["summary"] and "not allowed" in results[3]["summary"]
    assert "http:// or https://" in results[4]["summary"]
    assert logged(log) == []  # nova_act was not even imported


@pytest.fixture(scope="module")
def browsing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, FakeBedrock, Path]]:
    """One service for the two tests below that only call the library (the refusal test needs a
    process that never imported it, so it starts its own); each reads the log from where it began."""
    log = tmp_path_factory.mktemp("browsing") / "nova.log"
    with browser_service(log) as (svc, fake):
        yield svc, fake, log


def test_an_allowed_page_runs_through_an_iam_workflow_with_the_guardrail(
    browsing: tuple[Running, FakeBedrock, Path],
) -> None:
    svc, fake, log = browsing
    fake.answer_with(model_calls_the_browser)
    seen = len(logged(log))
    result = use_browser(svc, f"https://{PUBLIC}/start", "answer")
    wandered = use_browser(svc, f"https://{PUBLIC}/start", "wander http://169.254.170.2/v2/credentials")
    assert result["status"] == "success" and result["summary"] == "the page says hello"
    assert sent_messages(fake, 1)[-1]["content"][0]["toolResult"]["content"] == [{"text": "the page says hello"}]
    events = logged(log)[seen:]
    workflow = next(e for e in events if e["event"] == "workflow")
    assert workflow["workflow_definition_name"] == "layered-dev-inference-api"
    assert workflow["boto_session_kwargs"] == {"region_name": "us-east-1"}  # IAM, not an API key
    launch = next(e for e in events if e["event"] == "launch")
    assert launch == {"event": "launch", "starting_page": f"https://{PUBLIC}/start", "headless": True, "tty": False,
                      "channel": "chromium", "workflow": True, "guardrail": True, "file_open": [], "uploads": []}
    act = next(e for e in events if e["event"] == "act")
    assert (act["timeout"], act["max_steps"]) == (2, 12)
    # Mid-act, the page moved to the credentials endpoint: the guardrail stopped it.
    assert wandered["status"] == "error" and "off the allowed hosts" in wandered["summary"]


def test_time_limit_output_cap_and_library_errors_are_tool_results(
    browsing: tuple[Running, FakeBedrock, Path],
) -> None:
    svc, fake, _ = browsing
    fake.answer_with(model_calls_the_browser)
    slow = use_browser(svc, f"https://{PUBLIC}/", "slow")
    long = use_browser(svc, f"https://{PUBLIC}/", "long")
    long_result = sent_messages(fake, len(fake.bodies) - 1)[-1]["content"][0]["toolResult"]
    failed = use_browser(svc, f"https://{PUBLIC}/", "explode")
    health = call(svc.url, "GET", "/inference/health")
    assert slow["status"] == "error" and "did not finish within 2 s" in slow["summary"]
    assert 1500 <= slow["duration_ms"] < 5000
    assert long["status"] == "success" and long_result["content"] == [{"text": "x" * OUTPUT_CHARS}]
    assert failed == {**failed, "status": "error", "summary": "the tool failed: ActExecutionError"}
    assert health.status == 200  # the process outlived a hung browser and a crashed one


def test_without_the_extra_the_tool_says_so(tmp_path: Path) -> None:
    with browser_service(tmp_path / "nova.log", with_library=False) as (svc, _):
        result = use_browser(svc, f"https://{PUBLIC}/", "answer")
    assert result["status"] == "error" and "not installed in this image (extra `browser`)" in result["summary"]


def test_no_workflow_and_no_local_api_key_is_a_clear_tool_error(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    """Without a workflow definition: refused, unless a local API key is set (nova-act reads it itself)."""
    monkeypatch.syspath_prepend(str(FAKE_LIBRARY))
    monkeypatch.setenv("FAKE_NOVA_ACT_LOG", str(tmp_path / "nova.log"))
    monkeypatch.delenv("NOVA_ACT_API_KEY", raising=False)
    agent = AgentSettings(tools=("browser",), fetch_allowed_hosts=(PUBLIC,))
    args = {"url": f"https://{PUBLIC}/", "instruction": "answer"}
    try:
        with pytest.raises(ToolInputError, match="AGENT_BROWSER_WORKFLOW"):
            browser(args, agent, 5)
        monkeypatch.setenv("NOVA_ACT_API_KEY", "local-experiment")
        assert browser(args, agent, 5) == "the page says hello"
    finally:
        sys.modules.pop("nova_act", None)  # the fake stays out of this worker's other tests
    assert not any(e["event"] == "workflow" for e in logged(tmp_path / "nova.log"))
