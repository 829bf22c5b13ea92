"""Everything a person or CI reads: progress lines, change-set tables, summaries, JSON, Mermaid.

Human text goes to stdout, or to stderr with --output json so stdout stays one JSON document.
Threads print through one lock, one whole line at a time.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from typing import IO, Any
from urllib.parse import quote

from generators.contract import Contract

from .planner import ChangeRow

RED, BOLD, DIM, RESET = "\033[31m", "\033[1m", "\033[2m", "\033[0m"
FAILED_SUFFIXES = ("_FAILED",)


class Reporter:
    def __init__(self, region: str, json_mode: bool = False, stream: IO[str] | None = None) -> None:
        self.region = region
        self.json_mode = json_mode
        self.out: IO[str] = stream or (sys.stderr if json_mode else sys.stdout)
        self.color = self.out.isatty()
        self.lock = threading.Lock()
        self.start = time.monotonic()

    def line(self, text: str = "") -> None:
        with self.lock:
            print(text, file=self.out, flush=True)

    def elapsed(self) -> str:
        return f"{time.monotonic() - self.start:6.1f}s"

    def stack(self, stack: str, text: str) -> None:
        self.line(f"[{self.elapsed()}] {stack:<15} {text}")

    def warn(self, text: str) -> None:
        self.line(f"warning: {text}")

    def paint(self, text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if self.color else text

    def event(self, stack: str, e: Mapping[str, Any]) -> None:
        status = str(e.get("ResourceStatus", ""))
        text = f"{e.get('LogicalResourceId', '')} {e.get('ResourceType', '')} {status}"
        if e.get("ResourceStatusReason"):
            text += f" — {e['ResourceStatusReason']}"
        self.stack(stack, self.paint(text, RED) if status.endswith(FAILED_SUFFIXES) else text)

    def change_set(self, stack: str, cs: Mapping[str, Any], rows: list[ChangeRow]) -> None:
        lines = [f"change set for {stack} ({cs.get('ChangeSetName')}): {len(rows)} change(s)"]
        lines += table(["action", "logical id", "type", "replacement"],
                       [[r.action, r.logical_id, r.resource_type, r.replacement] for r in rows])
        dangerous = {i for i, r in enumerate(rows) if r.dangerous}
        with self.lock:
            for i, text in enumerate(lines):
                row = i - 3  # header line, column titles, rule
                mark = "!" if row in dangerous else " "
                print(f"  {mark} {self.paint(text, BOLD + RED) if row in dangerous else text}", file=self.out)
            if dangerous:
                print("  ! = replacement or removal: data in those resources may be lost", file=self.out)
            self.out.flush()

    def failure(self, stack: str, final: Mapping[str, Any], events: list[Mapping[str, Any]]) -> None:
        failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith(FAILED_SUFFIXES)]
        self.line(self.paint(f"{stack} failed: {final['StackStatus']}", BOLD + RED))
        for e in failed:
            self.line(f"  {e.get('LogicalResourceId')} ({e.get('ResourceType')}): {e.get('ResourceStatus')} — "
                      f"{e.get('ResourceStatusReason', 'no reason given')}")

    def console_url(self, cs: Mapping[str, Any]) -> str:
        return (f"https://{self.region}.console.aws.amazon.com/cloudformation/home?region={self.region}"
                f"#/stacks/changesets/changes?stackId={quote(str(cs.get('StackId')), safe='')}"
                f"&changeSetId={quote(str(cs.get('ChangeSetId')), safe='')}")


def table(headers: list[str], rows: Iterable[list[str]]) -> list[str]:
    rows = list(rows)
    widths = [max([len(h)] + [len(str(r[i])) for r in rows]) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*headers), "  ".join("-" * w for w in widths)] + [fmt.format(*map(str, r)) for r in rows]


def summary(results: Iterable[Any]) -> list[str]:
    return table(["stack", "action", "status", "seconds"],
                 [[r.stack, r.action, r.status, f"{r.seconds:.1f}"] for r in results])


def to_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, default=str, sort_keys=True)


def result_dict(r: Any) -> dict[str, Any]:
    return {
        "stack": r.stack, "stack_name": r.stack_name, "action": r.action, "status": r.status,
        "seconds": r.seconds, "change_set_id": r.change_set_id, "stack_status": r.stack_status,
        "reason": r.reason, "console_url": r.console_url,
        "changes": [{"action": c.action, "logical_id": c.logical_id, "type": c.resource_type,
                     "replacement": c.replacement} for c in r.changes],
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
            by_writer.setdefault(contract.writer.get(path, "publish"), []).append(
                path.removeprefix(f"/{prefix}/"))
        for writer, keys in sorted(by_writer.items()):
            label = "<br/>".join(sorted(keys))
            lines.append(f'  {_node(writer)} -- "{label}" --> {_node(reader)}')
    return "\n".join(lines) + "\n"


def _node(stack: str) -> str:
    return stack.replace("-", "_")
