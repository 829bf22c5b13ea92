"""How many streams each caller has open in this task: MAX_STREAMS_PER_USER bounds them.

Per task, not per service: with two tasks a caller may hold twice as many (the WAF's per-IP
rate limit bounds the rest). Every change happens on the event loop, so a plain dict suffices.
"""

from __future__ import annotations

RETRY_AFTER_SECONDS = 5


class StreamSlots:
    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._open: dict[str, int] = {}

    def acquire(self, sub: str) -> bool:
        if self._open.get(sub, 0) >= self.per_user:
            return False
        self._open[sub] = self._open.get(sub, 0) + 1
        return True

    def release(self, sub: str) -> None:
        left = self._open.get(sub, 0) - 1
        if left > 0:
            self._open[sub] = left
        else:
            self._open.pop(sub, None)

    def open_streams(self, sub: str) -> int:
        return self._open.get(sub, 0)

    def busy(self) -> bool:
        """Any stream or agent run open in this task (AgentCore's `HealthyBusy`)."""
        return bool(self._open)
