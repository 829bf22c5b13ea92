"""Scripted Bedrock conversations for the agent tests: ConverseStream answers as event-stream frames.

Not a test module (no test_ prefix) and uniquely named, so it cannot collide with the rest of tests/.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from http_fakes import FakeBedrock, end_event_stream, send_frame, start_event_stream
from services_testkit import stream_event, stream_exception

USAGE = {"inputTokens": 11, "outputTokens": 7, "totalTokens": 18}


def tool_call_frames(name: str, args: dict[str, Any], tool_use_id: str = "tool-1") -> list[bytes]:
    return [
        stream_event("messageStart", {"role": "assistant"}),
        stream_event("contentBlockStart", {"contentBlockIndex": 0,
                                           "start": {"toolUse": {"toolUseId": tool_use_id, "name": name}}}),
        stream_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": json.dumps(args)}}}),
        stream_event("contentBlockStop", {"contentBlockIndex": 0}),
        stream_event("messageStop", {"stopReason": "tool_use"}),
        stream_event("metadata", {"usage": USAGE, "metrics": {"latencyMs": 5}}),
    ]


def text_frames(*chunks: str) -> list[bytes]:
    deltas = [stream_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": c}}) for c in chunks]
    return [
        stream_event("messageStart", {"role": "assistant"}),
        *deltas,
        stream_event("contentBlockStop", {"contentBlockIndex": 0}),
        stream_event("messageStop", {"stopReason": "end_turn"}),
        stream_event("metadata", {"usage": USAGE, "metrics": {"latencyMs": 5}}),
    ]


def exception_frames(kind: str, message: str, after: list[bytes] | None = None) -> list[bytes]:
    return [*(after or []), stream_exception(kind, message)]


def scripted(*answers: list[bytes]) -> Callable[[FakeBedrock, BaseHTTPRequestHandler], None]:
    """The n-th request gets the n-th answer; requests past the script get the last one again."""

    def script(fake: FakeBedrock, handler: BaseHTTPRequestHandler) -> None:
        frames = answers[min(len(fake.requests), len(answers)) - 1]
        start_event_stream(handler)
        for frame in frames:
            send_frame(handler, frame)
        end_event_stream(handler)

    return script


Script = Callable[[FakeBedrock, BaseHTTPRequestHandler], None]


def in_turn(*scripts: Script) -> Script:
    """The n-th request is answered by the n-th script (the last one for any later request)."""

    def script(fake: FakeBedrock, handler: BaseHTTPRequestHandler) -> None:
        scripts[min(len(fake.requests), len(scripts)) - 1](fake, handler)

    return script


def error_status(status: int, code: str, message: str) -> Callable[[FakeBedrock, BaseHTTPRequestHandler], None]:
    """A plain JSON error answer (before any event), as Bedrock sends a throttle or a denial."""

    def script(fake: FakeBedrock, handler: BaseHTTPRequestHandler) -> None:
        data = json.dumps({"message": message}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("x-amzn-ErrorType", f"{code}:http://internal.amazon.com/coral/")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return script


def sse_events(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in body.decode().strip().split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith(":")]
        if not lines:
            continue
        name = lines[0].removeprefix("event: ")
        events.append((name, json.loads(lines[1].removeprefix("data: "))))
    return events


def sent_messages(fake: FakeBedrock, index: int) -> list[dict[str, Any]]:
    return json.loads(fake.bodies[index])["messages"]
