"""Everything that knows Bedrock's Converse shapes: the client, request building, response reading."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from . import __version__
from .config import Settings
from .failures import UpstreamFailure, classify, malformed
from .schemas import AssistantMessage, ChatRequest, ChatResponse, Usage

T = TypeVar("T")

CONNECT_TIMEOUT_SECONDS = 5
# Sync handlers run in anyio's thread pool (40 threads by default) and a stream holds its
# connection until the last event; botocore's default pool of 10 would churn connections.
MAX_POOL_CONNECTIONS = 40


def client_config(settings: Settings) -> Any:
    """Bounded timeouts and adaptive (client-side rate-limited) retries, for every Bedrock caller:
    the chat client below and the agent's model (agent_runner.py)."""
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=settings.bedrock_read_timeout,
        max_pool_connections=MAX_POOL_CONNECTIONS,
        # total_max_attempts counts the first try (Config's max_attempts would count retries only).
        retries={"mode": "adaptive", "total_max_attempts": settings.bedrock_max_attempts},
        user_agent_extra=f"{settings.service_name}/{__version__}",
    )


def make_client(settings: Settings) -> Any:
    """A bedrock-runtime client configured by client_config."""
    import boto3

    return boto3.client("bedrock-runtime", region_name=settings.bedrock_region, config=client_config(settings))


class ClientHolder:
    """Creates the client on first use, once: boto3 clients are thread-safe, sessions are not."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = threading.Lock()

    def get(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = make_client(self._settings)
        return self._client


async def within_deadline(call: Callable[[], T], seconds: float) -> T:
    """Run a blocking Bedrock call in a thread of its own; 504 once `seconds` have passed,
    whatever botocore's per-attempt timeouts and retries would still allow.

    The thread is a daemon and is abandoned at the deadline (botocore cannot be interrupted;
    its read timeout ends it): a daemon, so a stuck call never holds up the process's exit
    after SIGTERM, and not from the shared pool, so stuck calls never starve other requests.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def run() -> None:
        try:
            result = call()
        except BaseException as exc:  # handed to the waiting request, re-raised there
            loop.call_soon_threadsafe(_settle, future, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, future, result, None)

    threading.Thread(target=run, name="bedrock-call", daemon=True).start()
    from botocore.exceptions import BotoCoreError, ClientError  # loaded with the client by now (failures.py)
    from botocore.parsers import ResponseParserError  # not a BotoCoreError

    try:
        async with asyncio.timeout(seconds):
            return await future
    except TimeoutError:
        raise UpstreamFailure(504, "upstream_timeout", "Bedrock did not answer in time") from None
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from exc
    except (ResponseParserError, UnicodeDecodeError) as exc:  # a 200 botocore cannot read (an event stream)
        raise malformed(exc) from exc


def _settle(future: asyncio.Future[T], result: T | None, exc: BaseException | None) -> None:
    if future.done():  # the deadline passed first
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)  # type: ignore[arg-type]


def shutdown_stream(stream: Any) -> None:
    """Stop a ConverseStream now, even while a worker thread is blocked reading it.

    Closing the socket alone does not wake a thread blocked in recv(); shutting it down does,
    and sends Bedrock the FIN that ends the generation (and its billing).
    """
    raw = getattr(stream, "_raw_stream", None)  # botocore's EventStream over urllib3's response
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(Exception):
        stream.close()


def converse_params(request: ChatRequest, settings: Settings) -> dict[str, Any]:
    """Keyword arguments for converse / converse_stream (the two take the same request)."""
    inference: dict[str, Any] = {"maxTokens": request.max_tokens or settings.bedrock_max_tokens}
    temperature = request.temperature if request.temperature is not None else settings.bedrock_temperature
    if temperature is not None:
        inference["temperature"] = temperature
    params: dict[str, Any] = {
        "modelId": settings.bedrock_model_id,
        "messages": [{"role": m.role, "content": [{"text": m.content}]} for m in request.messages],
        "inferenceConfig": inference,
    }
    if request.system is not None:
        params["system"] = [{"text": request.system}]
    return params


def read_converse(response: dict[str, Any], model_id: str) -> ChatResponse:
    try:
        text = "".join(block.get("text", "") for block in response["output"]["message"]["content"])
        return ChatResponse(
            model_id=model_id,
            message=AssistantMessage(content=text),
            stop_reason=response["stopReason"],
            usage=_usage(response.get("usage", {})),
            latency_ms=response.get("metrics", {}).get("latencyMs"),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:  # ValueError: pydantic's ValidationError
        raise malformed(exc) from exc


def relay_stream(events: Iterable[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """ConverseStream events -> ("delta", {text}) per text chunk, then one ("done", {...}).

    messageStop carries the stop reason and the metadata event after it the usage, so "done"
    can only be sent once the stream has ended.
    """
    done: dict[str, Any] = {"stop_reason": None, "usage": None, "latency_ms": None}
    for event in events:
        if "contentBlockDelta" in event:
            text = event["contentBlockDelta"].get("delta", {}).get("text")
            if text:
                yield "delta", {"text": text}
        elif "messageStop" in event:
            done["stop_reason"] = event["messageStop"].get("stopReason")
        elif "metadata" in event:
            done["usage"] = _usage(event["metadata"].get("usage", {})).model_dump()
            done["latency_ms"] = event["metadata"].get("metrics", {}).get("latencyMs")
    yield "done", done


def _usage(usage: dict[str, Any]) -> Usage:
    return Usage(
        input_tokens=usage.get("inputTokens", 0),
        output_tokens=usage.get("outputTokens", 0),
        total_tokens=usage.get("totalTokens", 0),
    )
