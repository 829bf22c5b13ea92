"""web_search for real: ddgs' own engines and parsing, through a local proxy that plays the web.

The service runs under uvicorn with AGENT_SEARCH_PROXY and AGENT_SEARCH_CA_BUNDLE pointing at
tests/services/search_fakes.py's proxy; the model is the fake Bedrock endpoint over HTTP. Nothing
leaves the machine: every engine ddgs tries is answered by the proxy (a 404 unless a page is given).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_fakes import scripted, sent_messages, sse_events, text_frames, tool_call_frames
from ddgs.exceptions import DDGSException
from http_fakes import call, running_bedrock, running_service
from inference_api.tools_web import web_search
from search_fakes import duckduckgo_page, running_search_proxy
from services_testkit import INFERENCE_API, NO_AUTH

DUCKDUCKGO = ("html.duckduckgo.com", "/html/")
RESULTS = (
    ("Strands Agents SDK", "https://strandsagents.com/", "Strands Agents is an open source SDK for agents"),
    ("Model providers", "https://strandsagents.com/latest/user-guide/", "Strands works with Amazon Bedrock"),
)
EXPECTED = ("- Strands Agents SDK <https://strandsagents.com/>: Strands Agents is an open source SDK for agents\n"
            "- Model providers <https://strandsagents.com/latest/user-guide/>: Strands works with Amazon Bedrock")


def test_the_agent_searches_through_ddgs_and_the_model_reads_the_parsed_results(tmp_path: Path) -> None:
    script = scripted(tool_call_frames("web_search", {"query": "strands agents", "max_results": 2}),
                      text_frames("Found it."))
    with running_search_proxy(tmp_path, {DUCKDUCKGO: duckduckgo_page(*RESULTS)}) as proxy, \
            running_bedrock(script) as fake, running_service(
                INFERENCE_API, **NO_AUTH, AGENT_TOOLS="web_search", BEDROCK_MAX_ATTEMPTS="1",
                AGENT_SEARCH_PROXY=proxy.url, AGENT_SEARCH_CA_BUNDLE=str(proxy.ca_file),
                AWS_ENDPOINT_URL_BEDROCK_RUNTIME=fake.url) as svc:
        answer = call(svc.url, "POST", "/inference/agent", {"prompt": "What is strands?"})
    events = sse_events(answer.body)
    assert [name for name, _ in events] == ["tool_start", "tool_result", "delta", "done"]
    assert events[1][1]["status"] == "success" and events[1][1]["summary"] == EXPECTED[:200]
    assert sent_messages(fake, 1)[-1]["content"][0]["toolResult"]["content"] == [{"text": EXPECTED}]
    # ddgs' duckduckgo engine posted the form the real site takes.
    assert ("POST", *DUCKDUCKGO, b"b=&l=us-en&q=strands+agents") in proxy.seen


def test_no_results_anywhere_is_ddgs_own_error_which_the_guard_turns_into_a_tool_result(tmp_path: Path) -> None:
    with running_search_proxy(tmp_path, {}) as proxy, pytest.raises(DDGSException, match="No results found"):
        web_search({"query": "strands agents"}, 5, proxy=proxy.url, ca_bundle=str(proxy.ca_file))
    assert {host for _, host, _, _ in proxy.seen} >= {"html.duckduckgo.com"}


def test_certificates_are_still_verified_through_the_proxy(tmp_path: Path) -> None:
    """Without the proxy's CA the engines refuse its certificates: verification is never switched off."""
    with running_search_proxy(tmp_path, {DUCKDUCKGO: duckduckgo_page(*RESULTS)}) as proxy, \
            pytest.raises(DDGSException):  # the refused handshakes, as ddgs reports them
        web_search({"query": "strands agents"}, 5, proxy=proxy.url)
    assert proxy.seen == []  # no request got through a tunnel
