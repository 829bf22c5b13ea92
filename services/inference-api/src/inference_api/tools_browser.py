"""The browser tool: Amazon Nova Act opens an allowed page and carries out an instruction there.

What is checked, and what a browser can still do:
- the starting page passes http_fetch's own checks (tools_web.checked_target: a host on
  AGENT_FETCH_ALLOWED_HOSTS whose every address is public, so never 169.254.0.0/16, loopback
  or private ranges) before nova-act is imported or a browser launched;
- nova-act's state guardrail runs the same check on the page's URL after every observation,
  before the next step is sent to the model: a page off the list ends the act;
- nova-act's SecurityOptions stay at their safe defaults (no file:// pages, no uploads), and
  each act is bounded in steps and seconds.
Still open after the first page: the browser itself loads a page's images, scripts, frames and
XHR/fetch/WebSocket requests from any host, resolves names on its own (so DNS may answer
differently than it did for the check), and a step may visit a page before the guardrail sees
it. The Fargate credentials endpoint (169.254.170.2) hands out credentials only on the secret
path in AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, which no page can know; still, list only hosts
you trust, since a page's scripts run inside the task's network.

Authentication in AWS is IAM: a nova-act `Workflow` on a boto3 session (the task role's
credentials) under the workflow definition AGENT_BROWSER_WORKFLOW, which the service's stack
creates. NOVA_ACT_API_KEY (nova.amazon.com's key) is read by nova-act itself and is only for
local experiments, when no workflow definition is configured; templates never set it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

from .agent_settings import AgentSettings
from .tools_basic import ToolInputError
from .tools_web import AddressPolicy, Resolver, checked_target, public_address, resolve

# Steps of one act (nova-act's own default is 30): a tool call is one short errand.
MAX_STEPS = 12
MAX_INSTRUCTION_CHARS = 2000
Guardrail = Callable[[Any], Any]


def browser(
    args: dict[str, Any],
    agent: AgentSettings,
    timeout: float,
    policy: AddressPolicy = public_address,
    resolver: Resolver = resolve,
) -> str:
    url = str(args.get("url", ""))
    instruction = str(args.get("instruction", "")).strip()
    if not instruction or len(instruction) > MAX_INSTRUCTION_CHARS:
        raise ToolInputError(f"instruction must be 1 to {MAX_INSTRUCTION_CHARS} characters")
    checked_target(url, agent.fetch_allowed_hosts, policy, resolver)  # before anything is launched
    try:
        import nova_act  # the `browser` extra; not in the default image
    except ImportError:
        raise ToolInputError("the browser tool is not installed in this image (extra `browser`)") from None
    seconds = max(1, int(timeout))
    guardrail = _guardrail(nova_act, agent.fetch_allowed_hosts, policy, resolver)
    try:
        with _workflow(nova_act, agent) as workflow, nova_act.NovaAct(
            starting_page=url, workflow=workflow, headless=True, tty=False, state_guardrail=guardrail,
            security_options=nova_act.SecurityOptions(), go_to_url_timeout=seconds,
            # Playwright's Chromium: Google Chrome (nova-act's default channel) has no linux/arm64 build.
            chrome_channel="chromium",
        ) as nova:
            # act_get, not act: only act_get returns the model's answer (a string by default).
            result = nova.act_get(instruction, timeout=seconds, max_steps=MAX_STEPS)
    except nova_act.ActStateGuardrailError:
        raise ToolInputError("the browser went to a page off the allowed hosts; the act was stopped") from None
    return str(result.response or "done (no answer text)")


def _workflow(nova_act: Any, agent: AgentSettings) -> Any:
    """IAM (the task role) through the configured workflow definition; else the local API key."""
    if agent.browser_workflow:
        return nova_act.Workflow(
            model_id=agent.browser_model, workflow_definition_name=agent.browser_workflow,
            boto_session_kwargs={"region_name": agent.browser_region},
        )
    if os.environ.get("NOVA_ACT_API_KEY"):
        return contextlib.nullcontext(None)  # nova-act reads the key and makes its own workflow
    raise ToolInputError("the browser tool has no Nova Act workflow definition (AGENT_BROWSER_WORKFLOW)")


def _guardrail(nova_act: Any, allowed_hosts: tuple[str, ...], policy: AddressPolicy, resolver: Resolver) -> Guardrail:
    def check(state: Any) -> Any:
        try:
            checked_target(str(state.browser_url), allowed_hosts, policy, resolver)
        except ToolInputError:
            return nova_act.GuardrailDecision.BLOCK
        return nova_act.GuardrailDecision.PASS

    return check
