"""Everything a person or CI reads: progress lines, change-set tables, summaries, JSON, Mermaid.

Human text goes to stdout, or to stderr with --output json so stdout stays one JSON document.
Threads print through one lock, one whole line at a time.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any
from urllib.parse import quote

from deployer.planning.diff import ParameterChange
from deployer.planning.planner import ChangeRow
from deployer.presentation.progress import StackProgress, progress_line
from generators.contract import AWS_PUBLIC_PREFIX, Contract

RED, BOLD, RESET = "\033[31m", "\033[1m", "\033[0m"
CLEAR_LINE = "\r\033[K"
TICK = 0.2  # seconds between redraws of the progress line, so its elapsed time runs
FAILED_SUFFIXES = ("_FAILED",)
CANCELLED = "cancelled"


class Reporter:
    def __init__(self, region: str, json_mode: bool = False, stream: IO[str] | None = None) -> None:
        self.region = region
        self.json_mode = json_mode
        self.emulated = False  # an emulator: no console to link to, no URL that serves traffic
        self.out: IO[str] = stream or (sys.stderr if json_mode else sys.stdout)
        self.color = self.out.isatty()
        # A redrawn line is for people at a terminal: CI logs would keep every frame.
        self.live = not json_mode and self.out.isatty()
        self.lock = threading.RLock()
        self.start = time.monotonic()
        self._progress: dict[str, StackProgress] = {}
        self._drawn = False
        self._paused = False
        self._ticker: threading.Thread | None = None

    def line(self, text: str = "") -> None:
        self._write([text])

    def _write(self, lines: list[str]) -> None:
        with self.lock:
            if self._drawn:
                self.out.write(CLEAR_LINE)
                self._drawn = False
            self.out.write("".join(f"{text}\n" for text in lines))
            self._draw()
            self.out.flush()

    def _draw(self) -> None:
        if self.live and self._progress and not self._paused:
            frame = progress_line(time.monotonic() - self.start, self._progress, self._width())
            self.out.write(CLEAR_LINE + frame)
            self._drawn = True

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.out.fileno()).columns
        except (OSError, ValueError, AttributeError):
            return 0

    def track(self, stack: str, status: str, total: int = 0) -> None:
        """Show `stack` on the progress line until untrack(); a no-op unless live."""
        with self.lock:
            self._progress[stack] = StackProgress(status, total)
            self._redraw()
            if self.live and self._ticker is None:
                self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
                self._ticker.start()

    def progress(self, stack: str, events: list[dict[str, Any]]) -> None:
        with self.lock:
            if stack in self._progress:
                self._progress[stack].update(events)
                self._redraw()

    def untrack(self, stack: str) -> None:
        with self.lock:
            self._progress.pop(stack, None)
            if self._drawn and not self._progress:
                self.out.write(CLEAR_LINE)
                self._drawn = False
            self._redraw()

    def _redraw(self) -> None:
        self._draw()
        self.out.flush()

    def _tick(self) -> None:
        while True:
            time.sleep(TICK)
            with self.lock:
                if not self._progress:
                    self._ticker = None
                    return
                self._redraw()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No progress line while a question waits on the terminal (lines from other stacks still print)."""
        with self.lock:
            self._paused = True
            if self._drawn:
                self.out.write(CLEAR_LINE)
                self.out.flush()
                self._drawn = False
        try:
            yield
        finally:
            with self.lock:
                self._paused = False
                self._redraw()

    def elapsed(self) -> str:
        return f"{time.monotonic() - self.start:6.1f}s"

    def stack(self, stack: str, text: str) -> None:
        self.line(f"[{self.elapsed()}] {stack:<15} {text}")

    def warn(self, text: str) -> None:
        """Warnings go to stderr, so stdout stays what the command produces (a table, JSON)."""
        with self.lock:
            if self._drawn:
                self.out.write(CLEAR_LINE)
                self.out.flush()
                self._drawn = False
            sys.stderr.write(f"warning: {text}\n")
            sys.stderr.flush()
            self._redraw()

    def paint(self, text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if self.color else text

    def event(self, stack: str, e: Mapping[str, Any]) -> None:
        status = str(e.get("ResourceStatus", ""))
        text = f"{e.get('LogicalResourceId', '')} {e.get('ResourceType', '')} {status}"
        if e.get("ResourceStatusReason"):
            text += f" — {e['ResourceStatusReason']}"
        self.stack(stack, self.paint(text, RED) if status.endswith(FAILED_SUFFIXES) else text)

    def change_set(
        self, stack: str, cs: Mapping[str, Any], rows: list[ChangeRow], parameters: Iterable[ParameterChange] = ()
    ) -> None:
        lines = [f"change set for {stack} ({cs.get('ChangeSetName')}): {len(rows)} change(s)"]
        lines += table(["action", "logical id", "type", "replacement"],
                       [[r.action, r.logical_id, r.resource_type, r.replacement] for r in rows])
        dangerous = {i + 3 for i, r in enumerate(rows) if r.dangerous}  # after title, column titles, rule
        detail = property_lines(rows, parameters)
        risky = {len(lines) + i for i, (_, replaces) in enumerate(detail) if replaces}
        lines += [text for text, _ in detail]
        shown = []
        for i, text in enumerate(lines):
            marked = i in dangerous or i in risky
            shown.append(f"  {'!' if marked else ' '} {self.paint(text, BOLD + RED) if marked else text}")
        if dangerous or risky:
            shown.append("  ! = replacement or removal: data in those resources may be lost")
        self._write(shown)  # one write: the table stays together

    def failure(self, stack: str, final: Mapping[str, Any], failed: list[Mapping[str, Any]]) -> None:
        """The stack's final status and reason, then its failed resources, the causes first."""
        reason = f" — {final['StackStatusReason']}" if final.get("StackStatusReason") else ""
        lines = [self.paint(f"{stack} failed: {final['StackStatus']}{reason}", BOLD + RED)]
        lines += [f"  {e.get('LogicalResourceId')} ({e.get('ResourceType')}): {e.get('ResourceStatus')} — "
                  f"{e.get('ResourceStatusReason') or 'no reason given'}" for e in failed]
        if not failed:
            lines.append("  no failed resource among the events read — see the stack's events in the console")
        self._write(lines)  # one block, even with other stacks printing in parallel

    def console_url(self, cs: Mapping[str, Any]) -> str:
        if self.emulated:  # no console exists for an emulator: the command that shows the change set
            return (f"aws cloudformation describe-change-set --change-set-name {cs.get('ChangeSetId')} "
                    f"--endpoint-url {os.environ.get('AWS_ENDPOINT_URL', '')} (emulator)")
        return (f"https://{self.region}.console.aws.amazon.com/cloudformation/home?region={self.region}"
                f"#/stacks/changesets/changes?stackId={quote(str(cs.get('StackId')), safe='')}"
                f"&changeSetId={quote(str(cs.get('ChangeSetId')), safe='')}")


def failed_resources(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Failed resource events (oldest first in, causes first out). When one resource fails,
    CloudFormation stops the others in flight with "Resource creation cancelled": those follow."""
    failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith(FAILED_SUFFIXES)
              and e.get("LogicalResourceId") != e.get("StackName")]  # the stack's own status is the header
    return sorted(failed, key=lambda e: CANCELLED in str(e.get("ResourceStatusReason", "")).lower())


def failed_dicts(failed: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"logical_id": e.get("LogicalResourceId"), "type": e.get("ResourceType"),
             "status": e.get("ResourceStatus"), "reason": e.get("ResourceStatusReason")} for e in failed]


def table(headers: list[str], rows: Iterable[list[str]]) -> list[str]:
    rows = list(rows)
    widths = [max([len(h)] + [len(str(r[i])) for r in rows]) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*headers), "  ".join("-" * w for w in widths)] + [fmt.format(*map(str, r)) for r in rows]


def summary(results: Iterable[Any]) -> list[str]:
    return table(["stack", "action", "status", "seconds"],
                 [[r.stack, r.action, r.status, f"{r.seconds:.1f}"] for r in results])


def property_lines(rows: list[ChangeRow], parameters: Iterable[ParameterChange]) -> list[tuple[str, bool]]:
    """(line, forces replacement) per changed property of each modified resource, then the SSM values re-read."""
    lines: list[tuple[str, bool]] = []
    for r in rows:
        if r.action != "Modify":
            continue
        lines.append((f"~ {r.logical_id} ({r.resource_type})", False))
        if not r.properties:
            lines.append(("    no property value differs (CloudFormation resolves the change when it runs)", False))
        for p in r.properties:
            marks = ["forces replacement"] if p.replaces else []
            marks += [f"from SSM: {p.parameter}"] if p.parameter else []
            lines.append((f"    {p.path}: {p.before} -> {p.after}" + (f"  [{'; '.join(marks)}]" if marks else ""),
                          p.replaces))
    params = list(parameters)
    if params:
        lines.append(("SSM parameters re-read (new values since the last deploy):", False))
        lines += [(f"    {p.name} ({p.ssm_path}): {p.before} -> {p.after}", False) for p in params]
    return lines


def to_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, default=str, sort_keys=True)


def result_dict(r: Any) -> dict[str, Any]:
    return {
        "stack": r.stack, "stack_name": r.stack_name, "action": r.action, "status": r.status,
        "seconds": r.seconds, "change_set_id": r.change_set_id, "stack_status": r.stack_status,
        "reason": r.reason, "console_url": r.console_url, "failed_resources": r.failed_resources,
        "changes": [c.to_dict() for c in r.changes],
        "parameters": [p.to_dict() for p in getattr(r, "parameters", [])],
    }


def mermaid(contract: Contract, prefix: str) -> str:
    """Stacks as nodes, one edge per writer -> reader carrying the SSM keys it passes."""
    lines = ["flowchart LR"]
    stacks = sorted(contract.reads)
    for s in stacks:
        lines.append(f'  {_node(s)}["{s}"]')
    lines.append('  publish(["deploy.py --publish"])')
    for reader in stacks:
        by_writer: dict[str, list[str]] = {}
        for path in contract.reads[reader].values():
            if path.startswith(AWS_PUBLIC_PREFIX):
                continue  # AWS's own parameters (the latest AMI): no stack of ours writes them
            by_writer.setdefault(contract.writer.get(path, "publish"), []).append(
                path.removeprefix(f"/{prefix}/"))
        for writer, keys in sorted(by_writer.items()):
            label = "<br/>".join(sorted(keys))
            lines.append(f'  {_node(writer)} -- "{label}" --> {_node(reader)}')
    return "\n".join(lines) + "\n"


def _node(stack: str) -> str:
    return stack.replace("-", "_")
