"""POST /inference/agent under uvicorn, against a fake Bedrock runtime over real HTTP.

The fake speaks ConverseStream's event-stream framing and is reached the way any endpoint is
(AWS_ENDPOINT_URL_BEDROCK_RUNTIME): the model asks for a tool, gets its result, then answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from agent_fakes import (
    USAGE,
    Script,
    error_status,
    exception_frames,
    in_turn,
    scripted,
    sent_messages,
    sse_events,
    text_frames,
    tool_call_frames,
)
from http_fakes import (
    FakeBedrock,
    Issuer,
    Running,
    assert_error_shape,
    call,
    running_bedrock,
    running_issuer,
    running_service,
)
from services_testkit import INFERENCE_API, NO_AUTH

AGENT_ENV = {"AGENT_TOOLS": "calculator,current_time", "BEDROCK_MAX_ATTEMPTS": "1"}


def agent_service(fake_url: str, **env: str) -> Iterator[Running]:
    return running_service(INFERENCE_API, **NO_AUTH, **AGENT_ENV, AWS_ENDPOINT_URL_BEDROCK_RUNTIME=fake_url, **env)


@dataclass
class Agent:
    """The module's service and its fake Bedrock; each test gives the fake its own script."""

    url: str
    fake: FakeBedrock

    def answering(self, script: Script) -> FakeBedrock:
        return self.fake.answer_with(script)


@pytest.fixture(scope="module")
def agent() -> Iterator[Agent]:
    """One service for every test that only changes what Bedrock answers: starting one (and its
    first agent run, which loads strands) costs seconds. MAX_MESSAGE_CHARS and AGENT_MAX_TOOL_CALLS
    are what test_bad_input... and test_too_many_tool_calls... need; the others stay below both."""
    limits = {"MAX_MESSAGE_CHARS": "2000", "AGENT_MAX_TOOL_CALLS": "2"}
    with running_bedrock(scripted(text_frames("x"))) as fake, agent_service(fake.url, **limits) as svc:
        yield Agent(svc.url, fake)


def test_tool_call_then_answer_streams_the_whole_sequence(agent: Agent) -> None:
    script = scripted(tool_call_frames("calculator", {"expression": "6*7"}), text_frames("The answer ", "is 42."))
    fake = agent.answering(script)
    answer = call(agent.url, "POST", "/inference/agent", {"prompt": "What is 6*7?"})
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/event-stream")
    events = sse_events(answer.body)
    assert [name for name, _ in events] == ["tool_start", "tool_result", "delta", "delta", "done"]
    start, result = events[0][1], events[1][1]
    assert start["name"] == "calculator" and start["input"] == {"expression": "6*7"}
    assert result["status"] == "success" and result["summary"] == "42" and result["duration_ms"] >= 0
    assert "".join(data["text"] for name, data in events if name == "delta") == "The answer is 42."
    done = events[-1][1]
    assert done["stop_reason"] == "end_turn"
    # Two model calls, each reporting USAGE: the agent's usage is their sum.
    assert done["usage"] == {"input_tokens": 22, "output_tokens": 14, "total_tokens": 36}
    # The model received the tool's result in the second request.
    tool_result = sent_messages(fake, 1)[-1]["content"][0]["toolResult"]
    assert tool_result["toolUseId"] == "tool-1" and tool_result["content"] == [{"text": "42"}]
    assert all(path.endswith("/converse-stream") for path in fake.requests) and len(fake.requests) == 2


def test_json_form_with_stream_false_and_accept_header(agent: Agent) -> None:
    agent.answering(scripted(text_frames("Hi ", "there")))
    by_query = call(agent.url, "POST", "/inference/agent?stream=false", {"prompt": "Hello"})
    by_accept = _post_accept(agent.url, {"prompt": "Hello"}, "application/json")
    for answer in (by_query, by_accept):
        assert answer.status == 200 and answer.headers["content-type"] == "application/json"
        body = answer.json()
        assert body["text"] == "Hi there" and body["tools"] == [] and body["stop_reason"] == "end_turn"
        assert body["usage"]["input_tokens"] == USAGE["inputTokens"]


def _post_accept(base: str, body: dict[str, object], accept: str):  # type: ignore[no-untyped-def]
    import http.client

    from http_fakes import Answer

    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        headers = {"Content-Type": "application/json", "Accept": accept}
        conn.request("POST", "/inference/agent", json.dumps(body), headers)
        response = conn.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [({"prompt": ""}, "prompt"), ({"prompt": "   "}, "blank"), ({"prompt": "x" * 2001}, "at most 2000"),
     ({"prompt": "hi", "session_id": "a/b"}, "session_id"), ({"prompt": "hi", "extra": 1}, "extra")],
)
def test_bad_input_is_422_in_the_one_shape(agent: Agent, body: dict[str, object], fragment: str) -> None:
    fake = agent.answering(scripted(text_frames("x")))
    answer = call(agent.url, "POST", "/inference/agent", body)
    error = assert_error_shape(answer, 422, "invalid_request")
    assert fragment in error["message"]
    assert fake.requests == []


def test_too_many_tool_calls_stop_the_run(agent: Agent) -> None:
    fake = agent.answering(scripted(tool_call_frames("calculator", {"expression": "1+1"})))  # a tool, forever
    streamed = sse_events(call(agent.url, "POST", "/inference/agent", {"prompt": "loop"}).body)
    as_json = call(agent.url, "POST", "/inference/agent?stream=false", {"prompt": "loop"})
    assert [n for n, _ in streamed].count("tool_start") == 3
    assert [d["status"] for n, d in streamed if n == "tool_result"] == ["success", "success", "error"]
    name, data = streamed[-1]
    assert name == "error" and data["error"]["code"] == "too_many_tool_calls" and data["error"]["status"] == 422
    assert_error_shape(as_json, 422, "too_many_tool_calls")
    assert len(fake.requests) == 6  # three model calls per run, none after the refused fourth tool call


def test_throttling_and_access_denied_before_the_first_event_get_a_status(agent: Agent) -> None:
    for status, code, ours, want in ((429, "ThrottlingException", "throttled", 429),
                                     (403, "AccessDeniedException", "model_access_denied", 503)):
        agent.answering(error_status(status, code, "no"))
        assert_error_shape(call(agent.url, "POST", "/inference/agent", {"prompt": "hi"}), want, ours)


def test_throttling_and_access_denied_mid_stream_become_an_error_event(agent: Agent) -> None:
    """After a tool call the status line is gone: the next model call's failure is an `error` event.

    A throttle arrives inside the event stream (a modeled stream exception); a denial is the next
    ConverseStream call's HTTP 403, as Bedrock sends it.
    """
    tool_turn = scripted(tool_call_frames("calculator", {"expression": "2*3"}))
    throttled = scripted(exception_frames("throttlingException", "slow down", text_frames("partial")[:2]))
    denied = error_status(403, "AccessDeniedException", "no access")
    for second, ours, status in ((throttled, "throttled", 429), (denied, "model_access_denied", 503)):
        fake = agent.answering(in_turn(tool_turn, second))
        answer = call(agent.url, "POST", "/inference/agent", {"prompt": "hi"})
        events = sse_events(answer.body)
        names = [n for n, _ in events]
        assert names[:2] == ["tool_start", "tool_result"] and names[-1] == "error" and "done" not in names
        error = events[-1][1]["error"]
        assert error["code"] == ours and error["status"] == status and error["request_id"]
        assert len(fake.requests) == 2  # no retry by the agent: botocore's attempts are the only ones


@pytest.fixture(scope="module")
def signed_in() -> Iterator[tuple[Agent, Issuer]]:
    """A second service, with sign-in on and one stream per caller: each test below signs in as a
    caller of its own, so one test's open stream never counts against another's."""
    with running_issuer() as issuer, running_bedrock(scripted(text_frames("ok"))) as fake, running_service(
        INFERENCE_API, AUTH_ISSUER=issuer.url, AUTH_AUDIENCE="platform-api", **AGENT_ENV,
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=fake.url, MAX_STREAMS_PER_USER="1",
    ) as svc:
        yield Agent(svc.url, fake), issuer


def test_sign_in_is_required_and_a_token_is_accepted(signed_in: tuple[Agent, Issuer]) -> None:
    agent, issuer = signed_in
    agent.answering(scripted(text_frames("ok")))
    refused = call(agent.url, "POST", "/inference/agent", {"prompt": "hi"})
    accepted = call(agent.url, "POST", "/inference/agent?stream=false", {"prompt": "hi"}, token=issuer.token())
    assert_error_shape(refused, 401, "unauthorized")
    assert accepted.status == 200 and accepted.json()["text"] == "ok"


def test_unknown_tool_in_the_environment_stops_the_service_with_exit_2() -> None:
    import subprocess

    from http_fakes import service_env
    from services_testkit import bin_dir, free_port

    env = service_env(free_port(), **NO_AUTH, AGENT_TOOLS="calculator,shell")
    result = subprocess.run([str(bin_dir() / "inference-api")], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "AGENT_TOOLS names unknown tool 'shell'" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_agentcore_contract_ping_and_invocations_on_port(agent: Agent) -> None:
    """AgentCore Runtime calls GET /ping and POST /invocations on PORT; the agent answers both."""
    agent.answering(scripted(text_frames("pong")))
    ping = call(agent.url, "GET", "/ping")
    invoked = call(agent.url, "POST", "/invocations", {"prompt": "hi"})
    as_json = call(agent.url, "POST", "/invocations?stream=false", {"prompt": "hi"})
    empty = call(agent.url, "POST", "/invocations", {"prompt": ""})
    assert ping.status == 200 and ping.json()["status"] == "Healthy"
    assert isinstance(ping.json()["time_of_last_update"], int)
    assert [n for n, _ in sse_events(invoked.body)] == ["delta", "done"]
    assert as_json.json()["text"] == "pong"
    assert_error_shape(empty, 422, "invalid_request")


def test_a_client_leaving_mid_stream_frees_its_slot_at_once(signed_in: tuple[Agent, Issuer]) -> None:
    """MAX_STREAMS_PER_USER=1: after the first caller hangs up, the next run is admitted, not 429."""
    import http.client
    import threading
    import time

    from http_fakes import end_event_stream, hold, send_frame, start_event_stream

    talking = threading.Event()  # set once the test is over: until then the first run's model talks on

    def slow(fake, handler) -> None:  # type: ignore[no-untyped-def]
        frames = text_frames("first ", "second")
        start_event_stream(handler)
        send_frame(handler, frames[0])
        send_frame(handler, frames[1])
        while len(fake.requests) == 1 and not talking.is_set():
            if not hold(fake, handler, 0.05):
                return
        for frame in frames[2:]:
            send_frame(handler, frame)
        end_event_stream(handler)

    agent, issuer = signed_in
    agent.answering(slow)
    token = issuer.token(sub="leaving-caller")
    host, port = agent.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    conn.request("POST", "/inference/agent", json.dumps({"prompt": "hi"}), headers)
    response = conn.getresponse()
    assert response.status == 200 and response.readline().startswith(b"event: delta")
    conn.close()  # the client goes away while the model is still talking
    deadline = time.monotonic() + 10  # the first run's model is still talking all this while
    while True:
        second = call(agent.url, "POST", "/inference/agent?stream=false", {"prompt": "again"}, token=token)
        if second.status != 429 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    talking.set()
    assert second.status == 200, second.body
