"""Work done once per test run, whatever the number of xdist workers.

A session fixture runs once per worker process; for an expensive result that only gets read (a
wheelhouse, a linter's report over every template) the first worker to ask builds it in the run's
shared temporary directory while holding a lock, and every other worker waits for it, then reads it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


def run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory every worker of this run shares (pytest-of-<user>/pytest-N), or the session's
    own base directory when the tests run in one process."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """`build(directory)` exactly once per run; returns the directory it filled.

    A build that raised leaves no `.done` marker, so the next worker to ask tries again and reports
    its own failure (never a half-built directory)."""
    root = run_root(tmp_path_factory)
    directory, done = root / name, root / f"{name}.done"
    with (root / f"{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            if directory.exists():
                shutil.rmtree(directory)
            directory.mkdir()
            build(directory)
            done.touch()
    return directory


def kept_between_runs(name: str) -> Path:
    """Where results that outlive a run are kept (cfn-lint's and checkov's findings, the image tests'
    third-party wheels), each keyed on everything that decides it: beside pip's cache, in the user's
    cache folder (XDG_CACHE_HOME, else ~/.cache). Removing layered-platform-tests/ there gives a cold run."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "layered-platform-tests" / name
