"""Services started for tests, forked from a server that has already imported them.

A service process spends about 1 s of CPU starting (FastAPI, pydantic, uvicorn, boto3 imported;
another 0.6 s when the agent's libraries load), and the suite starts some forty of them on two
cores. multiprocessing's fork server imports them once (PRELOAD); each service is then a fork of it:
still a process of its own, with its own environment, argv, stdout and stderr, signals (the tests stop
it with SIGTERM, as ECS does) and exit status; only the imports were done before the fork.

What differs from the console script started by exec, and what still checks that: the child runs the
entry point (`app_api.__main__:main`) rather than the script file pip wrote, and ends with os._exit
after its streams are flushed (no atexit handlers; the services register none).
test_service_images_wheels.py still starts each installed console script by exec, and
test_service_images_dockerfiles.py replays the image's install. TEST_SERVICE_FORK=0 turns this off
(to compare, or to rule it out).
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import tempfile
from multiprocessing import reduction
from pathlib import Path
from typing import IO, Any

# The modules a service imports before it answers, as far as they are installed: the kit, both
# services, uvicorn with the loop and protocol it picks (uvloop, httptools), and the agent's libraries.
# A module that is missing is skipped by the fork server (the service then imports it itself).
PRELOAD = [
    "service_kit.server", "service_kit.factory", "service_kit.early", "service_kit.prelisten",
    "app_api.__main__", "app_api.app", "inference_api.__main__", "inference_api.app",
    "uvicorn", "uvicorn.server", "uvicorn.loops.uvloop", "uvicorn.protocols.http.httptools_impl",
    "uvicorn.lifespan.on", "inference_api.agent", "inference_api.agentcore", "strands", "strands.models",
    "strands_tools",
]

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)

# CPU seconds of the services that have ended (bench/pytest_cpu.py adds it per test: they are the fork
# server's children, not this process's, so RUSAGE_CHILDREN does not see them).
forked_cpu = 0.0


def enabled() -> bool:
    return os.environ.get("TEST_SERVICE_FORK", "1") != "0"


class _Descriptor:
    """A file descriptor handed to the child: sent over the fork server's socket (SCM_RIGHTS)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[Any, tuple[Any]]:
        return _received, (reduction.DupFd(self.fd),)


def _received(dup: Any) -> int:
    return int(dup.detach())


def _serve(entry: str, argv0: str, env: dict[str, str], out: int, err: int, usage: str) -> None:
    """In the child: the service's standard streams, environment and argv, then its entry point."""
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.close(out)
    os.close(err)
    # New stream objects over fds 1 and 2, as the interpreter would make them at start-up.
    sys.stdout = open(1, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)  # noqa: SIM115
    # PYTHONPATH acts at start-up: its entries go first on sys.path, as the interpreter puts them.
    added = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path]
    sys.path[:0] = added
    os.environ.clear()
    os.environ.update(env)
    sys.argv = [argv0]
    module, _, name = entry.partition(":")
    try:
        getattr(importlib.import_module(module), name)()
    finally:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
        Path(usage).write_text(f"{cpu}\n")


class ForkedService:
    """What the tests use of subprocess.Popen, for a service forked from the fork server."""

    def __init__(self, entry: str, argv0: str, env: dict[str, str]) -> None:
        # Files rather than pipes: the child can write any amount while nobody reads (closed in communicate).
        self._out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self._err: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        fd, usage = tempfile.mkstemp(prefix="service-cpu-")
        os.close(fd)
        self._usage = Path(usage)
        self.args = [argv0]
        # daemon: a service a failed test left running is stopped when the worker exits, not waited for.
        self._process = _context.Process(
            target=_serve, name=Path(argv0).name, daemon=True,
            args=(entry, argv0, env, _Descriptor(self._out.fileno()), _Descriptor(self._err.fileno()), usage),
        )
        self._process.start()
        self.pid = self._process.pid
        self._collected: tuple[str, str] | None = None

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self._process.pid, sig)  # type: ignore[arg-type]

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self._process.exitcode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Waits for the end (TimeoutExpired as Popen's), then its whole output, read once."""
        self.wait(timeout)
        if self._collected is None:
            texts = []
            for stream in (self._out, self._err):
                stream.seek(0)
                texts.append(stream.read().decode("utf-8", "replace"))
                stream.close()
            self._collected = (texts[0], texts[1])
            global forked_cpu
            text = self._usage.read_text().strip()
            self._usage.unlink(missing_ok=True)
            forked_cpu += float(text) if text else 0.0  # empty: killed before it could say
        return self._collected


def _interpreter_variables(env: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("PYTHON") and k != "PYTHONPATH"}


def start(entry: str, argv0: str, env: dict[str, str]) -> ForkedService | subprocess.Popen[str]:
    """The service at `entry` forked with `env`; the console script argv0 by exec when TEST_SERVICE_FORK=0,
    or when an interpreter variable other than PYTHONPATH differs from this process's (the fork server
    started with these: a fork cannot start again with others)."""
    if enabled() and _interpreter_variables(env) == _interpreter_variables(os.environ):
        return ForkedService(entry, argv0, env)
    return subprocess.Popen([argv0], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
