"""The executor without a server: batches in order, a failure stops later batches, Ctrl-C reaches
the interrupt handler while workers run (so in-flight updates can be cancelled)."""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

from deployer.planning.executor import parallel, run_batches


@dataclass
class R:
    stack: str
    ok: bool = True
    at: float = 0.0


def test_batches_run_in_order_and_in_parallel() -> None:
    # a and b meet at a barrier: it only opens if both run at once (no wall-clock budget, so load cannot fail it)
    together = threading.Barrier(2, timeout=30)
    order: list[str] = []

    def work(stack: str) -> R:
        if stack in ("a", "b"):
            together.wait()
        order.append(stack)
        return R(stack, at=time.monotonic())

    results = run_batches([["a", "b"], ["c"]], work, lambda s: R(s, ok=False), lambda: None)
    assert all(r.ok for r in results.values()) and not together.broken
    assert order[-1] == "c" and results["c"].at >= max(results["a"].at, results["b"].at)


def test_failure_skips_later_batches() -> None:
    results = run_batches([["a"], ["b"]], lambda s: R(s, ok=s != "a"), lambda s: R(s + "-skipped"), lambda: None)
    assert results["b"].stack == "b-skipped"


def main_thread_waits_on_its_workers() -> bool:
    """The main thread is inside `parallel`'s cf.wait, with the workers running."""
    frame, inner = sys._current_frames().get(threading.main_thread().ident or 0), []
    while frame is not None:
        if frame.f_code is parallel.__code__:
            return any(f.f_code is cf.wait.__code__ for f in inner)
        inner.append(frame)
        frame = frame.f_back
    return False


def test_ctrl_c_reaches_the_interrupt_handler() -> None:
    """SIGINT is sent only once both workers run and the main thread is waiting on them (a condition,
    polled, never a sleep), so a slow machine cannot make the signal land before the handler is there."""
    cancelled = threading.Event()
    started = {"a": threading.Event(), "b": threading.Event()}

    def work(stack: str) -> R:
        started[stack].set()
        return R(stack, ok=not cancelled.wait(60))  # ok only if nobody cancelled it within a minute

    def interrupt_when_waiting() -> None:
        assert all(e.wait(60) for e in started.values())
        deadline = time.monotonic() + 60
        while not main_thread_waits_on_its_workers() and time.monotonic() < deadline:
            time.sleep(0.005)  # how often the condition is polled, not a guess at how long anything takes
        os.kill(os.getpid(), signal.SIGINT)

    # Python's own handler, whatever an earlier test in this worker process installed (an in-process
    # server may take SIGINT over): parallel() must take Ctrl-C over from it, and give it back.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=interrupt_when_waiting, daemon=True).start()
    try:
        results = run_batches([["a", "b"], ["c"]], work, lambda s: R(s + "-skipped", ok=False), cancelled.set)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert cancelled.is_set()
    assert not results["a"].ok and not results["b"].ok and results["c"].stack == "c-skipped"


def ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_the_moment_work_starts_reaches_the_handler() -> None:
    """Ctrl-C sent by the work itself as it starts, so the main thread may still be submitting the other
    stacks or not yet waiting: where a KeyboardInterrupt raised there used to escape the handler (seen
    under load: in-flight updates were then not cancelled). Each time, the handler runs, once."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for _ in range(5):  # each a different interleaving of the two threads
            handled: list[int] = []
            cancelled = threading.Event()

            def work(stack: str, cancelled: threading.Event = cancelled) -> R:
                if stack == "a":
                    ctrl_c()
                return R(stack, ok=cancelled.wait(60))

            results = parallel(["a", "b", "c"], work, lambda: (handled.append(1), cancelled.set()))  # noqa: B023
            assert handled == [1] and all(r.ok for r in results.values())
            assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "Ctrl-C handed back"
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_as_the_last_work_ends_is_not_lost() -> None:
    """The work ends right after Ctrl-C: the handler still runs (the press is not dropped between the last
    wait and Ctrl-C going back to Python), and no KeyboardInterrupt escapes."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for _ in range(5):  # each a different interleaving of the two threads
            handled: list[int] = []
            results = parallel(["a"], lambda s: (ctrl_c(), R(s))[1], lambda: handled.append(1))  # noqa: B023
            assert handled == [1] and results["a"].ok
    finally:
        signal.signal(signal.SIGINT, previous)


def test_outside_the_main_thread_ctrl_c_is_left_alone() -> None:
    """Python delivers signals to the main thread only: run from another thread, parallel() installs nothing."""
    seen: list[object] = []
    before = signal.getsignal(signal.SIGINT)

    def run() -> None:
        seen.append(parallel(["a"], lambda s: (seen.append(signal.getsignal(signal.SIGINT)), R(s))[1],
                             lambda: None)["a"].ok)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert seen == [before, True]
