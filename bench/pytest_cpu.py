"""A pytest plugin for bench/bench_tests.py: CPU seconds and wall seconds of every test phase.

CPU is this process (its moto server threads included), the children it waited for (pip, linters,
services) and the deploy.py runs and services forked for it (tests/zygote_support.py: they are a
zygote's children, not this process's): unlike wall time, it does not grow when other work shares
the machine.
Each process (every xdist worker, and the controller) appends JSON lines to $BENCH_TESTS_OUT/<pid>.jsonl.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _parts() -> tuple[float, float, float]:
    """CPU seconds so far: own, reaped children's, forked runs'."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    forked = getattr(sys.modules.get("zygote_support"), "forked_cpu", 0.0)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime, forked


def _cpu() -> float:
    return sum(_parts())


def _write(record: dict[str, Any]) -> None:
    out = os.environ.get("BENCH_TESTS_OUT")
    if out:
        with (Path(out) / f"{os.getpid()}.jsonl").open("a") as handle:
            handle.write(json.dumps(record) + "\n")


_START = (time.monotonic(), _cpu())


def pytest_collection_finish(session: pytest.Session) -> None:
    wall, cpu = time.monotonic() - _START[0], _cpu() - _START[1]
    _write({"phase": "collect", "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "wall": wall, "cpu": cpu})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    wall, before = time.monotonic(), _parts()
    yield
    own, children, forked = (after - then for after, then in zip(_parts(), before, strict=True))
    _write({"phase": "test", "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "nodeid": item.nodeid,
            "wall": time.monotonic() - wall, "cpu": own + children + forked, "own": own, "children": children,
            "forked": forked, "end": time.time()})
