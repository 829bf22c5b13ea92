"""One moto server for the whole session, in this process, reset between tests.

Under pytest-xdist (`make test` runs one worker per core plus one, `--dist worksteal`) each worker process has its own
moto server on a free port, so tests never share emulator state.

Deploy tests drive `deploy.py` as a subprocess (exactly as a user would) with AWS_ENDPOINT_URL
pointing here. The server runs in this process, so its warnings are ours to see: a test marked
`@pytest.mark.moto_required("AWS::ECS::Service", ...)` fails if moto reported one of those types
as unsupported (it would then exist only as a placeholder, and the test would prove nothing).
"""

from __future__ import annotations

import atexit
import fcntl
import gc
import hashlib
import logging
import os
import signal
import sys
import tempfile
import threading
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import moto_speed  # noqa: E402
from deploy_support import Aws, clean_env  # noqa: E402

# The collector's thresholds, raised for the test processes only: a worker holds moto, botocore and the
# services (about 400,000 objects) and allocates steadily while serving the emulator, so the default
# thresholds ran some 1,300 collections per worker, 8 s of CPU per worker over a quarter of the suite
# (measured with gc.callbacks); with these, about 60 collections and 2.5 s. Nothing a test checks
# depends on when garbage is collected.
GC_THRESHOLDS = (20_000, 20, 20)
SHARED_ZYGOTES = pytest.StashKey[Any]()


def pytest_configure(config: pytest.Config) -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    # botocore's files parsed, and its handler checks answered, once per test process as in the zygotes:
    # the in-process services, the emulator and the checks make many sessions (the agent's warm-up
    # alone, one per app a test creates, was some 10 s of the workers' CPU).
    from zygote_support import parse_botocore_files_once, share_botocore_handler_checks

    parse_botocore_files_once()
    share_botocore_handler_checks()
    # A non-interactive shell starts a background command (`cmd &`) with SIGINT ignored, and an
    # ignored signal stays ignored through fork and exec: every deploy.py the tests start would then
    # ignore Ctrl-C, and the Ctrl-C tests fail for the shell's reason (seen under bench_tests.py).
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # The xdist controller starts the zygotes (tests/zygote_support.py) every worker forks its runs from.
    if getattr(config, "workerinput", None) is None and config.getoption("numprocesses", None):
        from zygote_support import start_shared

        config.stash[SHARED_ZYGOTES] = start_shared()
    config.addinivalue_line("markers", "moto_required(*types): fail if moto cannot model these resource types")
    config.addinivalue_line("markers", "repo_tree: runs alone (no other worker's test at the same time): "
                            "it edits a committed file or asserts the build folder is unchanged")


def pytest_unconfigure(config: pytest.Config) -> None:
    shared = config.stash.get(SHARED_ZYGOTES, None)
    if shared is not None:
        shared.close()
    if getattr(config, "workerinput", None) is not None:
        atexit.register(_leave_without_teardown)  # registered last, so it runs first


def _leave_without_teardown() -> None:
    """An xdist worker's exit, as a forked run's (zygote_support._exit): the other atexit handlers, the
    streams flushed, then os._exit. The interpreter's teardown would free every object the worker made
    (moto's backends, botocore's models, the services: some 400,000), touching most of its memory; four
    workers doing that at once kept the run going some 3 s after the last test. Its results were sent
    to the controller before this point (the session's end is reported over execnet, whose shutdown
    brings the worker here)."""
    from zygote_support import leave_without_teardown

    atexit.unregister(_leave_without_teardown)
    leave_without_teardown(0)


# Fixtures that edit a committed file for the length of a test (every git-status check elsewhere would see it).
# Refused commands are checked on a copy of the project instead (state_support.source_copy), so they need no lock.
WHOLE_TREE_FIXTURES = {"edited"}
LOCK_FILE = Path(tempfile.gettempdir()) / (
    "layered-platform-tests-" + hashlib.sha256(str(Path(__file__).resolve()).encode()).hexdigest()[:12] + ".lock")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if WHOLE_TREE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker("repo_tree")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """A readers-writer lock across xdist workers: every test holds it shared, a `repo_tree` test
    exclusively, so the work tree is still while such a test looks at it (a no-op when serial)."""
    with LOCK_FILE.open("a") as handle:
        exclusive = item.get_closest_marker("repo_tree") is not None
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Test modules that read tests/template_sets.py's sets and its one checkov run over them.
TEMPLATE_SET_USERS = {"test_templates_edge", "test_templates_lint", "test_templates_waf"}


@pytest.fixture(scope="session", autouse=True)
def template_sets_early(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The first worker starts the template sets, and with them checkov in the background, as the session
    starts, when it holds a test that reads them: checkov takes half a minute, which the first test
    asking for its report otherwise spends waiting. In a thread: this worker goes on with its tests
    (a failed build is rebuilt, and reported, by the first test that asks: session_support.once_per_run)."""
    from template_sets import sets_dir

    if os.environ.get("PYTEST_XDIST_WORKER", "gw0") == "gw0" and any(
            getattr(item.module, "__name__", "") in TEMPLATE_SET_USERS for item in request.session.items):
        threading.Thread(target=sets_dir, args=(tmp_path_factory,), name="template-sets", daemon=True).start()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from deployer.emulator.layer import server_url, start_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    moto_speed.apply()
    server = start_server()
    yield server_url(server)
    server.stop()


@pytest.fixture
def aws(moto_url: str, request: pytest.FixtureRequest) -> Iterator[Aws]:
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).read()
    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always")
        state = Aws(moto_url, clean_env(moto_url), recorded)
        yield state
    marker = request.node.get_closest_marker("moto_required")
    if marker:
        missing = set(marker.args) & state.unsupported()
        assert not missing, f"moto does not model {sorted(missing)}: this test would only see placeholders"


@pytest.fixture(scope="session")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's copy of the project for refused commands to run from (state_support.source_copy): made once
    by the xdist controller, which also started its zygote; otherwise this process's own."""
    from state_support import source_copy
    from zygote_support import shared_project_copy, zygote

    shared = shared_project_copy()
    if shared is not None:
        forked = zygote(dict(os.environ), shared)
        if forked is not None and forked.proc is None:  # connected: its `ready` comes once the copy is made
            forked.wait_ready()
            return shared
    return source_copy(tmp_path_factory.mktemp("source"))


@pytest.fixture
def refused_synth(tmp_path: Path, project_copy: Path) -> Callable[..., str]:
    """state_support.refused_synth on this test's tmp_path and this worker's copy of the project."""
    from state_support import refused_synth as check

    return lambda text, *args: check(tmp_path, project_copy, text, *args)
