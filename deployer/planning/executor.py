"""Run the planner's batches: stacks of one batch in parallel threads, batches one after another.

A failed (or declined) stack stops later batches (they depend on it); Ctrl-C is handed to
`on_interrupt` while the workers are running, so in-flight updates can be cancelled before we exit.
A deploy runs each batch in steps (create every change set, ask once, execute the chosen ones):
`run_grouped` hands it the whole batch, `parallel` runs one step's stacks side by side.
"""

from __future__ import annotations

import concurrent.futures as cf
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar


class Outcome(Protocol):
    @property
    def ok(self) -> bool: ...


R = TypeVar("R", bound=Outcome)


def parallel(stacks: list[str], work: Callable[[str], R], on_interrupt: Callable[[], None]) -> dict[str, R]:
    """work(stack) for every stack at once; results in the order given."""
    if not stacks:
        return {}
    with cf.ThreadPoolExecutor(max_workers=len(stacks), thread_name_prefix="stack") as pool:
        with _ctrl_c_noted() as pressed:
            futures = {pool.submit(work, s): s for s in stacks}
            pending = set(futures)
            while pending:
                _, pending = cf.wait(pending, timeout=0.2)
                if pressed.is_set():
                    pressed.clear()
                    on_interrupt()  # may raise KeyboardInterrupt (a second Ctrl-C: stop waiting)
        if pressed.is_set():  # pressed as the last wait ended, before Ctrl-C was Python's own again
            on_interrupt()
        return {futures[f]: f.result() for f in futures}


@contextmanager
def _ctrl_c_noted() -> Iterator[threading.Event]:
    """Ctrl-C noted in an event while the workers run, instead of raised: Python raises KeyboardInterrupt
    at whichever bytecode the main thread is at, and a try around the wait left windows (before the
    loop, while the work was being submitted; between two waits) where it escaped the handler, and
    in-flight updates were not cancelled (seen under load). Outside the main thread, where Python never
    delivers signals, nothing changes."""
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return
    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: pressed.set())
    try:
        yield pressed
    finally:  # before the pool's shutdown waits for the workers: Ctrl-C there stops the waiting
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


def run_grouped(
    batches: list[list[str]], run_batch: Callable[[list[str]], dict[str, R]], skipped: Callable[[str], R]
) -> dict[str, R]:
    results: dict[str, R] = {}
    for batch in batches:
        if not all(r.ok for r in results.values()):
            results.update({s: skipped(s) for s in batch})
            continue
        results.update(run_batch(batch))
    return results


def run_batches(
    batches: list[list[str]],
    work: Callable[[str], R],
    skipped: Callable[[str], R],
    on_interrupt: Callable[[], None],
) -> dict[str, R]:
    return run_grouped(batches, lambda batch: parallel(batch, work, on_interrupt), skipped)


K = TypeVar("K")
T = TypeVar("T")


def concurrently(work: dict[K, Callable[[], T]], workers: int = 8) -> dict[K, T]:
    """Every call of `work` at once, results by key: read-only commands ask AWS many independent
    questions, and their round trips overlap instead of adding up. The first error is raised."""
    if len(work) <= 1:
        return {k: call() for k, call in work.items()}
    pool = cf.ThreadPoolExecutor(max_workers=min(workers, len(work)), thread_name_prefix="read")
    try:
        futures = {k: pool.submit(call) for k, call in work.items()}
        return {k: f.result() for k, f in futures.items()}
    finally:
        # Ctrl-C or an error: calls not yet started are dropped, running ones end on their own.
        pool.shutdown(wait=False, cancel_futures=True)
