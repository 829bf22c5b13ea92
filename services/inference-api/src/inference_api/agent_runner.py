"""One agent run per request, in a thread of its own, reported as events on a queue.

strands is asynchronous and the kit's SSE response reads a blocking iterator from worker
threads, so each run gets a thread with its own event loop; text deltas, tool starts and
results, then `done` (or `error`) go onto a queue the response reads. Closing the run (the
client went away) stops the agent at its next event.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from .agent_settings import AgentSettings
from .agent_tools import ToolBudget, build_tools, implementations
from .config import Settings
from .failures import UpstreamFailure, classify

log = logging.getLogger("inference_api.agent")
Event = tuple[str, dict[str, Any]]
_END = ("end", {})


class ToolLimitExceeded(Exception):
    """The model asked for more tool calls than AGENT_MAX_TOOL_CALLS allows."""


def tool_limit_failure(limit: int) -> UpstreamFailure:
    return UpstreamFailure(422, "too_many_tool_calls", f"the agent needed more than {limit} tool calls")


class ModelHolder:
    """One BedrockModel (and so one bedrock-runtime client) for the process, made on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._model: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _make_model(self._settings)
        return self._model


def warm_up(app: Any, after_ready_seconds: float = 1.0, poll_seconds: float = 0.05, give_up_seconds: float = 60.0,
            ) -> None:
    """Import strands and make the model in the background, once the app is serving.

    The agent libraries take over a second to import: done on the first request, that second
    would land on that request; done during start-up, it would hold up /inference/health (the
    import holds the interpreter). A daemon thread waits for the lifespan's `ready` (which comes
    just before uvicorn listens) and a moment more, then loads them: health answers first, and
    the first prompt finds them ready.
    """

    def run() -> None:
        deadline = time.monotonic() + give_up_seconds
        while not getattr(app.state, "ready", False) and time.monotonic() < deadline:
            time.sleep(poll_seconds)
        time.sleep(after_ready_seconds)
        try:
            app.state.agent_model.get()
        except Exception:  # the first request will try again and report what is wrong
            log.warning("agent warm-up failed", exc_info=True)

    threading.Thread(target=run, name="agent-warm-up", daemon=True).start()


def _make_model(settings: Settings) -> Any:
    from strands.models import BedrockModel

    from .bedrock import client_config

    config = client_config(settings)
    params: dict[str, Any] = {"max_tokens": settings.bedrock_max_tokens}
    if settings.bedrock_temperature is not None:
        params["temperature"] = settings.bedrock_temperature
    return BedrockModel(
        model_id=settings.bedrock_model_id, region_name=settings.bedrock_region,
        boto_client_config=config, streaming=True, **params,
    )


class AgentRun:
    """Start with `start()`; iterate `events()` (blocking); `close()` from any thread."""

    def __init__(self, settings: Settings, model: Any, prompt: str, session: Callable[[], Any] | None = None,
                 impls: dict[str, Any] | None = None) -> None:
        self._agent_settings: AgentSettings = settings.agent
        self._model = model
        self._prompt = prompt
        self._session = session
        self._impls = impls or implementations(settings.agent)
        self._queue: queue.Queue[Event] = queue.Queue()
        self._stop = threading.Event()
        self.budget = ToolBudget(settings.agent.max_tool_calls)

    def start(self) -> AgentRun:
        threading.Thread(target=self._thread, name="agent-run", daemon=True).start()
        return self

    def close(self) -> None:
        self._stop.set()

    def next_event(self, timeout: float | None = None) -> Event:
        return self._queue.get(timeout=timeout)

    def events(self, first: Event | None = None) -> Iterator[Event]:
        if first is not None:
            if first is _END:
                return
            yield first
        while (event := self._queue.get()) is not _END:
            yield event

    def _emit(self, name: str, data: dict[str, Any]) -> None:
        self._queue.put((name, data))

    def _thread(self) -> None:
        try:
            asyncio.run(self._run())
        except ToolLimitExceeded:
            failure = tool_limit_failure(self.budget.limit)
            self._queue.put(("error", {"status": failure.status, "code": failure.code, "message": failure.message}))
        except Exception as exc:  # reported as an error event (or status), never a traceback to the client
            failure = _classified(exc)
            self._queue.put(("error", {"status": failure.status, "code": failure.code, "message": failure.message}))
        finally:
            self._queue.put(_END)

    async def _run(self) -> None:
        from strands import Agent

        agent = Agent(
            model=self._model,
            tools=build_tools(self._agent_settings, self._emit, self.budget, self._impls),
            system_prompt=self._agent_settings.system_prompt,
            callback_handler=None,
            session_manager=self._session() if self._session is not None else None,
            retry_strategy=None,  # botocore's adaptive retries already ran; a throttle is the client's to retry
        )
        result = None
        async for event in agent.stream_async(self._prompt):
            if self.budget.exceeded:
                raise ToolLimitExceeded
            if self._stop.is_set():
                return  # the client went away: leaving the loop closes the agent's stream
            if "data" in event and isinstance(event["data"], str) and event["data"]:
                self._queue.put(("delta", {"text": event["data"]}))
            elif "result" in event:
                result = event["result"]
        if self.budget.exceeded:
            raise ToolLimitExceeded
        self._queue.put(("done", _done(result)))


def _done(result: Any) -> dict[str, Any]:
    usage = dict(result.metrics.accumulated_usage) if result is not None else {}
    return {
        "stop_reason": str(result.stop_reason) if result is not None else None,
        "usage": {
            "input_tokens": usage.get("inputTokens", 0),
            "output_tokens": usage.get("outputTokens", 0),
            "total_tokens": usage.get("totalTokens", 0),
        },
    }


def _classified(exc: BaseException) -> UpstreamFailure:
    """strands wraps a throttle in ModelThrottledException; the ClientError is its cause."""
    from botocore.exceptions import BotoCoreError, ClientError

    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ == "SessionException":  # S3 behind the session store, not Bedrock
            log.warning("session store failed: %s", seen)
            return UpstreamFailure(503, "sessions_unavailable", "the session store could not be used; retry later")
        if isinstance(seen, ClientError | BotoCoreError):
            return classify(seen)
        if type(seen).__name__ == "ModelThrottledException":
            return UpstreamFailure(429, "throttled", "Bedrock is throttling requests; retry later", 2)
        seen = seen.__cause__ or seen.__context__
    return classify(exc)
