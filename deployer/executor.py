"""Run the planner's batches: stacks of one batch in parallel threads, batches one after another.

A failed stack stops later batches (they depend on it); Ctrl-C is handed to `on_interrupt`
while the workers are running, so in-flight updates can be cancelled before we exit.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable
from typing import Protocol, TypeVar


class Outcome(Protocol):
    @property
    def ok(self) -> bool: ...


R = TypeVar("R", bound=Outcome)


def run_batches(
    batches: list[list[str]],
    work: Callable[[str], R],
    skipped: Callable[[str], R],
    on_interrupt: Callable[[], None],
) -> dict[str, R]:
    results: dict[str, R] = {}
    width = max((len(b) for b in batches), default=1)
    with cf.ThreadPoolExecutor(max_workers=width, thread_name_prefix="stack") as pool:
        for batch in batches:
            if not all(r.ok for r in results.values()):
                results.update({s: skipped(s) for s in batch})
                continue
            futures = {pool.submit(work, s): s for s in batch}
            pending = set(futures)
            while pending:
                try:
                    _, pending = cf.wait(pending, timeout=0.2)
                except KeyboardInterrupt:
                    on_interrupt()
            results.update({futures[f]: f.result() for f in futures})
    return results
