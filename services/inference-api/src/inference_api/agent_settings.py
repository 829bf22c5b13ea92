"""The agent's settings (AGENT_*, SESSION_BUCKET), read with the rest of the service's environment.

platform.toml's `[services.agent]` table becomes these variables (generators/agent_config.py);
a name the service does not know stops it at start-up (exit 2), like any other bad variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service_kit.envconfig import EnvReader

# The one list of tool names; generators/agent_config.py keeps the same list for platform.toml.
TOOL_NAMES = ("web_search", "current_time", "calculator", "http_fetch", "browser")
DEFAULT_TOOLS = ("current_time", "calculator")
HOST = re.compile(r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")
BUCKET = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
PREFIX = r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}"
WORKFLOW = r"[a-zA-Z0-9_-]{1,40}"  # Nova Act's workflow definition names
REGION = r"[a-z]{2}(-[a-z]+)+-\d"
PROXY = r"(http|https|socks5|socks5h)://\S+"


@dataclass(frozen=True)
class AgentSettings:
    tools: tuple[str, ...] = DEFAULT_TOOLS
    fetch_allowed_hosts: tuple[str, ...] = ()
    max_tool_calls: int = 8
    tool_timeout_seconds: float = 10.0
    tool_output_chars: int = 4000
    session_bucket: str | None = None
    session_prefix: str = "sessions"
    system_prompt: str = "You are a helpful assistant. Use the tools when they help; be concise."
    # The browser tool (tools_browser.py): Nova Act through IAM, under this workflow definition.
    browser_workflow: str | None = None
    browser_region: str = "us-east-1"  # the Nova Act service's region (the SDK's own endpoint)
    browser_model: str = "nova-act-latest"
    # web_search through an outbound proxy (and a CA bundle to trust for it): off unless set.
    search_proxy: str | None = None
    search_ca_bundle: str | None = None


def read_agent(env: EnvReader) -> AgentSettings:
    base = AgentSettings()
    return AgentSettings(
        tools=_names(env, "AGENT_TOOLS", base.tools, TOOL_NAMES),
        fetch_allowed_hosts=_hosts(env, "AGENT_FETCH_ALLOWED_HOSTS"),
        max_tool_calls=env.integer("AGENT_MAX_TOOL_CALLS", base.max_tool_calls, 1, 100),
        tool_timeout_seconds=env.number("AGENT_TOOL_TIMEOUT_SECONDS", base.tool_timeout_seconds, 0.1, 50),
        tool_output_chars=env.integer("AGENT_TOOL_OUTPUT_CHARS", base.tool_output_chars, 100, 100_000),
        session_bucket=env.optional_text("SESSION_BUCKET", BUCKET, 63),
        session_prefix=env.text("SESSION_PREFIX", base.session_prefix, PREFIX, 63),
        system_prompt=env.text("AGENT_SYSTEM_PROMPT", base.system_prompt, r"[\s\S]+", 4000),
        browser_workflow=env.optional_text("AGENT_BROWSER_WORKFLOW", WORKFLOW, 40),
        browser_region=env.text("AGENT_BROWSER_REGION", base.browser_region, REGION, 32),
        browser_model=env.text("AGENT_BROWSER_MODEL", base.browser_model, r"[A-Za-z0-9._:-]{1,64}", 64),
        search_proxy=env.optional_text("AGENT_SEARCH_PROXY", PROXY, 512),
        search_ca_bundle=env.optional_text("AGENT_SEARCH_CA_BUNDLE", r"/\S+\.pem", 512),
    )


def _names(env: EnvReader, name: str, default: tuple[str, ...], known: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.raw(name)
    if raw is None:
        return default
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    unknown = [n for n in names if n not in known]
    if unknown:
        env.error(f"{name} names unknown tool {unknown[0]!r} (known: {', '.join(known)})")
        return default
    return names


def _hosts(env: EnvReader, name: str) -> tuple[str, ...]:
    raw = env.raw(name)
    if raw is None:
        return ()
    hosts = tuple(dict.fromkeys(h.strip().lower() for h in raw.split(",") if h.strip()))
    bad = [h for h in hosts if not HOST.fullmatch(h)]
    if bad:
        env.error(f"{name} must list host names separated by commas (got {bad[0]!r})")
        return ()
    return hosts
