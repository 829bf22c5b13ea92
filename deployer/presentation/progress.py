"""The live progress line shown while stacks change on a terminal: pure state and formatting.

    [  12.4s] app-api UPDATE_IN_PROGRESS (7/10) · inference-api CREATE_IN_PROGRESS (3/10)

The count is resources settled (reached *_COMPLETE or *_FAILED) out of those the change set
touches; the reporter redraws the line in place and clears it before every streamed event line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SETTLED = ("_COMPLETE", "_FAILED")
SEPARATOR = " · "
ELLIPSIS = "…"


@dataclass
class StackProgress:
    status: str
    total: int = 0  # resources the change set touches; 0 when unknown (a delete, someone else's update)
    settled: set[str] = field(default_factory=set)

    def update(self, events: Iterable[Mapping[str, Any]]) -> None:
        for e in events:
            status = str(e.get("ResourceStatus", ""))
            # The stack's own events carry its name as logical id (a nested stack resource does not).
            if e.get("LogicalResourceId") == e.get("StackName"):
                self.status = status or self.status
            elif status.endswith(SETTLED):
                self.settled.add(str(e.get("LogicalResourceId")))

    def label(self) -> str:
        return f" ({min(len(self.settled), self.total)}/{self.total})" if self.total else ""


def progress_line(elapsed: float, stacks: Mapping[str, StackProgress], width: int = 0) -> str:
    """One line for every stack in flight; cut to `width` columns (0: no limit), since a line that
    wraps can no longer be overwritten with a carriage return."""
    line = f"[{elapsed:6.1f}s] " + SEPARATOR.join(f"{name} {p.status}{p.label()}" for name, p in stacks.items())
    if width and len(line) >= width:
        return line[: max(width - 2, 0)] + ELLIPSIS
    return line
