"""The executor without a server: batches in order, a failure stops later batches, Ctrl-C reaches
the interrupt handler while workers run (so in-flight updates can be cancelled)."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass

from deployer.planning.executor import run_batches


@dataclass
class R:
    stack: str
    ok: bool = True
    at: float = 0.0


def test_batches_run_in_order_and_in_parallel() -> None:
    def work(stack: str) -> R:
        time.sleep(0.2)
        return R(stack, at=time.monotonic())

    start = time.monotonic()
    results = run_batches([["a", "b"], ["c"]], work, lambda s: R(s, ok=False), lambda: None)
    assert time.monotonic() - start < 0.6  # a and b together, then c
    assert results["c"].at > max(results["a"].at, results["b"].at)


def test_failure_skips_later_batches() -> None:
    results = run_batches([["a"], ["b"]], lambda s: R(s, ok=s != "a"), lambda s: R(s + "-skipped"), lambda: None)
    assert results["b"].stack == "b-skipped"


def test_ctrl_c_reaches_the_interrupt_handler() -> None:
    cancelled = threading.Event()

    def work(stack: str) -> R:
        return R(stack, ok=not cancelled.wait(5))

    threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    start = time.monotonic()
    results = run_batches([["a", "b"], ["c"]], work, lambda s: R(s + "-skipped", ok=False), cancelled.set)
    assert cancelled.is_set() and time.monotonic() - start < 2
    assert not results["a"].ok and results["c"].stack == "c-skipped"
