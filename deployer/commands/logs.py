"""`--logs SERVICE`: a service's CloudWatch log events, newest last.

`--since 15m|2h|1d|ISO-time` picks the window, `--filter` is a CloudWatch Logs filter pattern,
`--follow` keeps printing (live tail where the endpoint has it, FilterLogEvents polling where not).
The services log one JSON object a line: on a terminal it is shown as time, level, request id,
message, status and duration; `--output json` prints each event as one JSON line.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from deployer.aws import operations, runner
from deployer.errors import UsageError
from generators.naming import log_group_name

DEFAULT_SINCE = "15m"
POLL_SECONDS = 2.0
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
Write = Callable[[str], None]


def parse_since(value: str, now: datetime) -> datetime:
    """15m, 2h, 1d (ago) or an ISO 8601 time (UTC when it names no zone); UsageError otherwise."""
    match = re.fullmatch(r"(\d{1,6})([smhd])", value.strip())
    if match:
        return now - timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {value!r} is not a duration or a time (expected e.g. 15m, 2h, 1d or "
                         "2026-01-31T09:00:00Z)") from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if when > now:
        raise UsageError(f"--since {value!r} is in the future (expected a time before now)")
    return when


def to_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def render(event: dict[str, Any], json_mode: bool) -> str:
    """One event as a line: the service's JSON made readable, or (json_mode) one JSON document."""
    message = str(event.get("message", "")).rstrip("\n")
    try:
        doc = json.loads(message)
    except ValueError:
        doc = None
    stamp = datetime.fromtimestamp(int(event.get("timestamp", 0)) / 1000, UTC)
    if json_mode:
        if isinstance(doc, dict):
            return json.dumps(doc, separators=(",", ":"))
        return json.dumps({"time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                           "stream": event.get("logStreamName"), "message": message}, separators=(",", ":"))
    if not isinstance(doc, dict):
        return f"{stamp:%Y-%m-%d %H:%M:%S} {message}"
    parts = [f"{stamp:%Y-%m-%d %H:%M:%S}", f"{str(doc.get('level', '-')):<7}"]
    if doc.get("request_id"):
        parts.append(f"[{doc['request_id']}]")
    parts.append(str(doc.get("message", "")))
    if "status" in doc:
        parts.append(f"status={doc['status']}")
    if "duration_ms" in doc:
        parts.append(f"{doc['duration_ms']}ms")
    if doc.get("error"):
        parts.append("\n    " + str(doc["error"]).replace("\n", "\n    "))
    return " ".join(parts)


def print_window(logs: Any, group: str, start_ms: int, end_ms: int | None, pattern: str | None,
                 write: Write, json_mode: bool) -> tuple[int, set[str]]:
    """Every event of the window, page by page as they arrive; (newest timestamp, ids printed)."""
    token, newest, seen = None, start_ms, set()
    while True:
        events, token = operations.filter_log_events(logs, group, start_ms, end_ms, pattern, token)
        for e in sorted(events, key=lambda e: (e.get("timestamp", 0), e.get("eventId", ""))):
            write(render(e, json_mode))
            newest = max(newest, int(e.get("timestamp", 0)))
            seen.add(str(e.get("eventId", "")))
        if not token:
            return newest, seen


def show_logs(clients: runner.Clients, prefix: str, service: str, since: str | None, follow: bool,
              pattern: str | None, json_mode: bool, tail: bool = True, out: IO[str] | None = None) -> int:
    """tail=False: follow by polling only (an emulator whose StartLiveTail answers with a one-off
    snapshot of past events rather than an event stream of new ones)."""
    stream = out or sys.stdout
    start = parse_since(since or DEFAULT_SINCE, datetime.now(UTC))

    def write(line: str) -> None:
        stream.write(line + "\n")

    logs, group = clients.extra("logs"), log_group_name(prefix, service)
    newest, seen = print_window(logs, group, to_ms(start), None if follow else to_ms(datetime.now(UTC)),
                                pattern, write, json_mode)
    stream.flush()
    if not seen:  # an empty answer alone cannot tell "quiet" from "never ran": say which, on stderr
        print(_nothing_shown(logs, group, since or DEFAULT_SINCE, service), file=sys.stderr)
    if not follow:
        return 0
    try:
        if not (tail and live_tail(logs, group, pattern, write, json_mode, stream)):
            poll(logs, group, pattern, newest, seen, write, json_mode, stream)
    except KeyboardInterrupt:  # the way a follow ends
        pass
    return 0


def _nothing_shown(logs: Any, group: str, since: str, service: str) -> str:
    if operations.log_group_arn(logs, group) is None:
        return f"no log group {group} yet: {service} has not run in this environment (deploy it first)"
    return f"no log events in {group} since {since}"


def live_tail(logs: Any, group: str, pattern: str | None, write: Write, json_mode: bool, stream: IO[str]) -> bool:
    """StartLiveTail (AWS; up to 3 hours a session). False when the endpoint has no live tail."""
    try:
        arn = operations.log_group_arn(logs, group)
        events = operations.start_live_tail(logs, arn, pattern) if arn else None
    except (ClientError, BotoCoreError, ResponseParserError):
        return False
    if events is None:
        return False
    for item in events:
        for e in item.get("sessionUpdate", {}).get("sessionResults", []):
            write(render(e, json_mode))
        stream.flush()
    return True


def poll(logs: Any, group: str, pattern: str | None, newest: int, seen: Iterable[str], write: Write,
         json_mode: bool, stream: IO[str], sleep: Callable[[float], None] = time.sleep) -> None:
    """FilterLogEvents from the newest event printed on: events of that same millisecond are
    fetched again, so ids already printed are skipped."""
    printed = set(seen)
    while True:
        sleep(POLL_SECONDS)
        token = None
        while True:
            events, token = operations.filter_log_events(logs, group, newest, None, pattern, token)
            for e in sorted(events, key=lambda e: (e.get("timestamp", 0), e.get("eventId", ""))):
                if str(e.get("eventId")) in printed:
                    continue
                printed.add(str(e.get("eventId")))
                newest = max(newest, int(e.get("timestamp", 0)))
                write(render(e, json_mode))
            if not token:
                break
        stream.flush()
