"""A stand-in for the `nova_act` library at its boundary, for the browser tool's tests.

Put its parent directory on PYTHONPATH of a service started under uvicorn. It records what the
tool asked of it (JSON lines in $FAKE_NOVA_ACT_LOG) and acts out the instruction it is given:
  "answer"        returns "the page says hello"
  "long"          returns 50 000 characters
  "slow"          sleeps 30 s (past any tool time limit)
  "explode"       raises the library's own error
  "wander <url>"  navigates to <url>: the state guardrail decides, as nova-act does after an observation
No browser is launched: Playwright's Chromium cannot be downloaded where the tests run.
"""

from __future__ import annotations

import enum
import json
import os
import time
from typing import Any, NamedTuple


def _log(event: str, **data: Any) -> None:
    with open(os.environ["FAKE_NOVA_ACT_LOG"], "a") as f:
        f.write(json.dumps({"event": event, **data}, default=repr) + "\n")


_log("import")


class GuardrailDecision(enum.Enum):
    PASS = enum.auto()
    BLOCK = enum.auto()


class GuardrailInputState(NamedTuple):
    browser_url: str


class ActError(Exception):
    pass


class ActExecutionError(ActError):
    pass


class ActStateGuardrailError(ActError):
    pass


class SecurityOptions:
    def __init__(self, allowed_file_open_paths: list[str] | None = None,
                 allowed_file_upload_paths: list[str] | None = None) -> None:
        self.allowed_file_open_paths = allowed_file_open_paths or []
        self.allowed_file_upload_paths = allowed_file_upload_paths or []


class ActGetResult(NamedTuple):
    response: str | None


class Workflow:
    def __init__(self, model_id: str, boto_session_kwargs: dict[str, Any] | None = None,
                 workflow_definition_name: str | None = None, **rest: Any) -> None:
        _log("workflow", model_id=model_id, boto_session_kwargs=boto_session_kwargs,
             workflow_definition_name=workflow_definition_name, rest=sorted(rest))

    def __enter__(self) -> Workflow:
        return self

    def __exit__(self, *exc: object) -> None:
        _log("workflow_end")


class NovaAct:
    def __init__(self, starting_page: str | None = None, **kwargs: Any) -> None:
        security = kwargs.get("security_options")
        _log("launch", starting_page=starting_page, headless=kwargs.get("headless"), tty=kwargs.get("tty"),
             channel=kwargs.get("chrome_channel"),
             workflow=kwargs.get("workflow") is not None, guardrail=kwargs.get("state_guardrail") is not None,
             file_open=getattr(security, "allowed_file_open_paths", None),
             uploads=getattr(security, "allowed_file_upload_paths", None))
        self.url = starting_page or "about:blank"
        self.guardrail = kwargs.get("state_guardrail")

    def __enter__(self) -> NovaAct:
        return self

    def __exit__(self, *exc: object) -> None:
        _log("stop")

    def _observe(self) -> None:
        if self.guardrail is not None and self.guardrail(GuardrailInputState(self.url)) is GuardrailDecision.BLOCK:
            raise ActStateGuardrailError(f"guardrail blocked {self.url}")

    def act_get(self, prompt: str, schema: Any = None, *, timeout: int | None = None,
                max_steps: int | None = None) -> ActGetResult:
        _log("act", prompt=prompt, timeout=timeout, max_steps=max_steps)
        self._observe()
        verb, _, rest = prompt.partition(" ")
        if verb == "wander":
            self.url = rest
            self._observe()
            return ActGetResult(f"visited {rest}")
        if verb == "long":
            return ActGetResult("x" * 50_000)
        if verb == "slow":
            time.sleep(30)
        if verb == "explode":
            raise ActExecutionError("the browser crashed")
        return ActGetResult("the page says hello")
