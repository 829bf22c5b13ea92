"""The configured tools as strands tools, each behind the same guard.

The guard gives every call a time limit (AGENT_TOOL_TIMEOUT_SECONDS), an output limit
(AGENT_TOOL_OUTPUT_CHARS) and a place in the per-request count (AGENT_MAX_TOOL_CALLS), and
reports its start and result to the request's event queue. A failing tool returns an error
result the model reads; it never fails the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from .agent_settings import AgentSettings
from .tools_basic import SPECS as BASIC_SPECS
from .tools_basic import ToolInputError, calculator, current_time
from .tools_browser import browser
from .tools_web import SPECS as WEB_SPECS
from .tools_web import http_fetch, web_search

SUMMARY_CHARS = 200
Emit = Callable[[str, dict[str, Any]], None]
SPECS = {**BASIC_SPECS, **WEB_SPECS, "browser": {
    "description": "Open a web page (only on the allowed hosts) in a browser and carry out an instruction "
                   "there (Amazon Nova Act); returns the browser agent's answer.",
    "properties": {"url": {"type": "string"}, "instruction": {"type": "string"}},
    "required": ["url", "instruction"],
}}


class ToolBudget:
    """Tool calls left in one request; the runner stops the agent once it is spent."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.exceeded = False
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            self.used += 1
            if self.used > self.limit:
                self.exceeded = True
            return not self.exceeded


def implementations(agent: AgentSettings) -> dict[str, Callable[[dict[str, Any]], str]]:
    timeout = agent.tool_timeout_seconds
    return {
        "current_time": current_time,
        "calculator": calculator,
        "web_search": partial(web_search, timeout=timeout, proxy=agent.search_proxy, ca_bundle=agent.search_ca_bundle),
        "http_fetch": partial(http_fetch, allowed_hosts=agent.fetch_allowed_hosts, timeout=timeout),
        "browser": partial(browser, agent=agent, timeout=timeout),
    }


def build_tools(
    agent: AgentSettings, emit: Emit, budget: ToolBudget, impls: dict[str, Callable[[dict[str, Any]], str]]
) -> list[Any]:
    from strands.tools.tools import PythonAgentTool

    tools = []
    for name in agent.tools:
        spec = SPECS[name]
        schema = {"type": "object", "properties": spec["properties"], "required": spec["required"]}
        tool_spec = {"name": name, "description": spec["description"], "inputSchema": {"json": schema}}
        guarded = partial(_guarded, name, impls[name], agent, emit, budget)
        tools.append(PythonAgentTool(name, tool_spec, guarded))  # type: ignore[arg-type]
    return tools


async def _guarded(
    name: str, impl: Callable[[dict[str, Any]], str], agent: AgentSettings, emit: Emit, budget: ToolBudget,
    tool_use: dict[str, Any], /, **_: Any,  # positional-only: strands passes `agent=` and more as keywords
) -> dict[str, Any]:
    args = tool_use.get("input") or {}
    emit("tool_start", {"id": tool_use["toolUseId"], "name": name, "input": args})
    started = time.monotonic()
    if not budget.take():
        status, text = "error", f"tool call limit ({budget.limit}) reached for this request"
    else:
        status, text = await _run_limited(impl, args, agent.tool_timeout_seconds)
    text = text[: agent.tool_output_chars]
    duration_ms = round((time.monotonic() - started) * 1000)
    summary = text[:SUMMARY_CHARS]
    emit("tool_result", {"id": tool_use["toolUseId"], "name": name, "status": status,
                         "summary": summary, "duration_ms": duration_ms})
    return {"toolUseId": tool_use["toolUseId"], "status": status, "content": [{"text": text}]}


async def _run_limited(impl: Callable[[dict[str, Any]], str], args: dict[str, Any], seconds: float) -> tuple[str, str]:
    """In a daemon thread of its own: a tool past its time limit is abandoned, never waited for."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[tuple[str, str]] = loop.create_future()

    def run() -> None:
        try:
            result: Any = ("success", impl(args))
        except ToolInputError as exc:
            result = ("error", str(exc))
        except Exception as exc:  # any tool failure is the model's to read, never a 500
            result = ("error", f"the tool failed: {type(exc).__name__}")
        # RuntimeError: the run ended (its loop closed) while this abandoned call still ran.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(lambda: future.done() or future.set_result(result))

    threading.Thread(target=run, name="agent-tool", daemon=True).start()
    try:
        async with asyncio.timeout(seconds):
            return await future
    except TimeoutError:
        return "error", f"the tool did not finish within {seconds:g} s"
