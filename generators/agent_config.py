"""The agent's configuration in platform.toml, validated in one place.

- `extras = ["agentcore"]` on a service: the optional dependency groups its image installs
  (build argument EXTRAS, by `deploy.py --publish` and the image pipeline alike);
- `[services.agent]` (overridable per key in `[environments.<env>.services.<name>.agent]`):
  the tools the agent may call and their limits, and how long sessions are kept. A service
  with this table gets a session bucket in its own stack (agent_resources.py);
- model ids in `bedrock_models`: foundation-model ids or cross-region inference-profile ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .agent_names import HOST, TOOL_NAMES
from .schema import ConfigError, Field, check_table


def _tools(values: list[str]) -> str | None:
    bad = [v for v in values if v not in TOOL_NAMES]
    if bad:
        return f"tool names from {', '.join(TOOL_NAMES)}; {bad[0]!r} is not one"
    return None if len(set(values)) == len(values) else "each tool once"


def _hosts(values: list[str]) -> str | None:
    bad = [v for v in values if not HOST.fullmatch(v)]
    return f"lower-case host names (no scheme, port or path); {bad[0]!r} is not one" if bad else None


def _between(lo: int, hi: int) -> Any:
    return lambda v: None if lo <= v <= hi else f"{lo}..{hi}"


AGENT_FIELDS: dict[str, Field] = {
    "tools": Field("str-list", False, _tools),
    "fetch_allowed_hosts": Field("str-list", False, _hosts),
    "max_tool_calls": Field("int", False, _between(1, 100)),
    "tool_timeout_seconds": Field("int", False, _between(1, 50)),
    "tool_output_chars": Field("int", False, _between(100, 100_000)),
    "session_ttl_days": Field("int", False, _between(1, 3650)),
}


@dataclass(frozen=True)
class AgentConfig:
    tools: tuple[str, ...] = ("current_time", "calculator")
    fetch_allowed_hosts: tuple[str, ...] = ()
    max_tool_calls: int = 8
    tool_timeout_seconds: int = 10
    tool_output_chars: int = 4000
    session_ttl_days: int = 30


def parse_agent(where: str, key: str, t: dict[str, Any]) -> AgentConfig | None:
    table = t.get("agent")
    if table is None:
        return None
    check_table(table, AGENT_FIELDS, where, f"{key}.agent")
    base = AgentConfig()
    tools = tuple(table.get("tools", base.tools))
    hosts = tuple(table.get("fetch_allowed_hosts", ()))
    needs_hosts = [name for name in ("http_fetch", "browser") if name in tools]  # the browser's first page too
    if needs_hosts and not hosts:
        raise ConfigError(f"{where}: {key}.agent.fetch_allowed_hosts: {needs_hosts[0]} needs at least one allowed host "
                          "(expected a list of host names, e.g. [\"docs.aws.amazon.com\"])")
    if "browser" in tools and "browser" not in t.get("extras", ()):
        raise ConfigError(f"{where}: {key}.agent.tools: the browser tool needs the image extra "
                          "(expected extras to include \"browser\")")
    return AgentConfig(
        tools=tools, fetch_allowed_hosts=hosts,
        max_tool_calls=table.get("max_tool_calls", base.max_tool_calls),
        tool_timeout_seconds=table.get("tool_timeout_seconds", base.tool_timeout_seconds),
        tool_output_chars=table.get("tool_output_chars", base.tool_output_chars),
        session_ttl_days=table.get("session_ttl_days", base.session_ttl_days),
    )


def merged_agent(service: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """The service's [services.agent] with the environment's keys on top (absent when neither has one)."""
    if "agent" not in service and "agent" not in override:
        return {}
    return {"agent": {**service.get("agent", {}), **override.get("agent", {})}}


def agent_environment(agent: AgentConfig) -> dict[str, str]:
    """The container variables inference_api.agent_settings reads."""
    env = {
        "AGENT_TOOLS": ",".join(agent.tools),
        "AGENT_MAX_TOOL_CALLS": str(agent.max_tool_calls),
        "AGENT_TOOL_TIMEOUT_SECONDS": str(agent.tool_timeout_seconds),
        "AGENT_TOOL_OUTPUT_CHARS": str(agent.tool_output_chars),
    }
    if agent.fetch_allowed_hosts:
        env["AGENT_FETCH_ALLOWED_HOSTS"] = ",".join(agent.fetch_allowed_hosts)
    return env


def image_extras(cfg: Any, service: str) -> str:
    """The build argument EXTRAS of a service's image: its `extras`, comma-separated ("" for none)."""
    return ",".join(next(s for s in cfg.services if s.name == service).extras)
