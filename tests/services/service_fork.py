"""Services started for tests, forked from a zygote that has already imported them.

A service process spends about 1 s of CPU starting (FastAPI, pydantic, uvicorn, boto3 imported;
another 0.6 s when the agent's libraries load), and the suite starts some forty of them on two
cores. The `service` zygote (tests/zygote_support.py: the protocol deploy.py's runs fork by) imports
them once; each service is then a fork of it: still a process of its own, with its own environment,
argv, stdout and stderr, signals (the tests stop it with SIGTERM, as ECS does) and exit status; only
the imports were done before the fork.

What differs from the console script started by exec, and what still checks that: the child runs the
entry point (`app_api.__main__:main`) the script pip wrote would call, rather than that script, and
it ends without the interpreter's module teardown (zygote_support._exit).
test_service_images_wheels.py still starts each installed console script by exec, and
test_service_images_dockerfiles.py replays the image's install. TEST_SERVICE_FORK=0 turns this off
(to compare, or to rule it out).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from typing import IO, Any

from zygote_support import REPO, ForkedPopen, zygote


def enabled() -> bool:
    return os.environ.get("TEST_SERVICE_FORK", "1") != "0"


class ForkedService(ForkedPopen):
    """subprocess.Popen for a forked service whose output goes to files rather than pipes (it may write
    any amount while nobody reads): communicate() waits, then returns the whole output, read once."""

    def __init__(self, entry: str, argv0: str, env: dict[str, str]) -> None:
        forked = zygote(env, REPO, kind="service")
        assert forked is not None
        self._files: list[IO[bytes]] = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]  # noqa: SIM115
        self._collected: tuple[str, str] | None = None
        super().__init__(forked, [], service=(entry, argv0), env=env, stdin=subprocess.DEVNULL,
                         stdout=self._files[0], stderr=self._files[1])

    def communicate(self, input: Any = None, timeout: float | None = None) -> tuple[str, str]:  # noqa: A002
        self.wait(timeout)
        if self._collected is None:
            texts = []
            for stream in self._files:
                stream.seek(0)
                texts.append(stream.read().decode("utf-8", "replace"))
                stream.close()
            self._collected = (texts[0], texts[1])
        return self._collected


def start(entry: str, argv0: str, env: dict[str, str]) -> ForkedService | subprocess.Popen[str]:
    """The service at `entry` forked with `env`; the console script argv0 by exec when TEST_SERVICE_FORK=0
    (or TEST_DEPLOY_FORK=0, which turns every zygote off)."""
    if enabled() and zygote(env, REPO, kind="service") is not None:
        return ForkedService(entry, argv0, env)
    return subprocess.Popen([argv0], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
