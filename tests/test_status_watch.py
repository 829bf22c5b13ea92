"""`--status --watch` on a terminal: deploy.py runs as a subprocess whose stdout is a pseudo-terminal
(os.openpty) against moto's server. moto's ECS never rolls anything out, so the test puts app-api's
service in the state ECS shows during a rollout (a new PRIMARY deployment IN_PROGRESS beside the
old ACTIVE one) and later in the settled state, in the emulator's memory."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Iterator

import pytest
from deploy_support import Aws
from moto_state_support import stack_deployed
from zygote_support import popen_deploy

PREFIX = "layered-dev"
HOME, ERASE_BELOW, ERASE_LINE = "\x1b[H", "\x1b[J", "\x1b[K"
ROWS, COLUMNS = 40, 200
REFRESHING = "(refreshing every"


def app_service() -> object:
    from moto.ecs.models import ecs_backends

    (service,) = [s for s in ecs_backends["123456789012"]["us-east-1"].services.values() if "app-api" in s.name]
    return service


def start_rollout() -> None:
    """As ECS shows a rolling deployment: the new one PRIMARY and IN_PROGRESS, the old one ACTIVE."""
    service = app_service()
    old = dict(service.deployments[0], status="ACTIVE", id="ecs-svc/old", rolloutState="COMPLETED")
    service.deployments[0].update(rolloutState="IN_PROGRESS", rolloutStateReason="ECS deployment in progress.")
    service.deployments.append(old)


def finish_rollout() -> None:
    service = app_service()
    service.deployments[:] = [service.deployments[0]]
    service.deployments[0].update(rolloutState="COMPLETED", rolloutStateReason="ECS deployment completed.")


class Terminal:
    """deploy.py with its stdout (and stdin) on a pseudo-terminal of ROWS x COLUMNS; stderr a pipe."""

    def __init__(self, aws: Aws, *args: str, rows: int = ROWS) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, COLUMNS, 0, 0))
        self.proc = popen_deploy(list(args), aws.env, stdin=slave, stdout=slave, stderr=subprocess.PIPE, text=True)
        os.close(slave)
        self.seen = ""

    def read_until(self, done: re.Pattern[str], timeout: float = 60) -> str:
        """Everything written so far, once `done` matches it (or the program ended)."""
        limit = time.monotonic() + timeout
        while not done.search(self.seen) and time.monotonic() < limit:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the program ended and closed the terminal
                break
            if not chunk:
                break
            # The terminal turns each "\n" into "\r\n" (ONLCR), as a real one does.
            self.seen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        return self.seen

    def wait(self, timeout: float = 60) -> tuple[int, str]:
        """Read on until the program ends (it would block on a full terminal otherwise)."""
        self.read_until(re.compile(r"(?!)"), timeout=timeout)
        code = self.proc.wait(timeout=5)
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        os.close(self.master)


@pytest.fixture
def deployed(aws: Aws) -> Aws:
    return stack_deployed(aws, "all")


@pytest.fixture
def terminal(deployed: Aws) -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for t in opened:
        t.close()


def frames(output: str) -> list[str]:
    """The frames drawn: each one starts at the top-left corner (HOME)."""
    return [f for f in output.split(HOME)[1:] if f.strip(ERASE_BELOW)]


def test_watch_redraws_in_place_and_stops_once_the_rollout_settles(deployed: Aws,
                                                                   terminal: list[Terminal]) -> None:
    start_rollout()
    term = Terminal(deployed, "--status", "--watch")
    terminal.append(term)
    first = term.read_until(re.compile(re.escape(REFRESHING) + r".*\n"))
    assert first.startswith(HOME + ERASE_BELOW), repr(first[:40])  # a clean screen first
    assert "IN_PROGRESS" in first and "active" in first, first
    finish_rollout()
    code, err = term.wait(timeout=60)
    assert code == 0 and err == "", err
    drawn = frames(term.seen)
    assert len(drawn) == 2, [f[:60] for f in drawn]
    for frame in drawn:
        rows = frame.split("\n")
        # Every line overwrites the one below it on screen, and erases what the longer old line had left;
        # the frame ends by erasing anything the last one had below: nothing scrolls, nothing piles up.
        assert all(r.endswith(ERASE_LINE) for r in rows[:-1]), rows
        assert rows[-1] == ERASE_BELOW and len(rows) - 1 < ROWS
    assert REFRESHING in drawn[0] and REFRESHING not in drawn[1]  # settled: the last frame says so by its absence
    assert "IN_PROGRESS" not in drawn[1] and "COMPLETED" in drawn[1]
    assert drawn[1].count("app-api: service") == 1


def test_ctrl_c_ends_a_watch_cleanly_with_status_0(deployed: Aws, terminal: list[Terminal]) -> None:
    start_rollout()
    term = Terminal(deployed, "--status", "--watch")
    terminal.append(term)
    term.read_until(re.compile(re.escape(REFRESHING) + r".*\n"))
    term.proc.send_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
    code, err = term.wait(timeout=30)
    assert code == 0, err
    assert "Traceback" not in err and err == "", err
    assert term.seen.endswith(ERASE_BELOW + "\n")  # the prompt comes back on a line of its own, below the frame


def test_a_frame_taller_than_the_terminal_is_cut_not_scrolled(deployed: Aws, terminal: list[Terminal]) -> None:
    """A 12-row terminal: the frame (every stack, then each service's block) is cut to fit."""
    start_rollout()
    term = Terminal(deployed, "--status", "--watch", rows=12)
    terminal.append(term)
    term.read_until(re.compile(r"more lines \(a taller terminal shows them\)"))
    term.proc.send_signal(signal.SIGINT)
    term.wait(timeout=30)
    (frame, *_) = frames(term.seen)
    assert frame.count(ERASE_LINE + "\n") == 11 and frame.count("\n") <= 12, frame  # 11 lines, the cursor on the 12th


@pytest.mark.parametrize(("args", "expected"), [
    (["--status", "--watch"], "--watch redraws a terminal, and stdout is not one"),
    (["--status", "--watch", "--output", "json"], "--watch redraws a terminal, --output json prints one document"),
])
def test_watch_without_a_terminal_is_a_usage_error(aws: Aws, args: list[str], expected: str) -> None:
    done = aws.deploy(*args)  # stdout a pipe
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and expected in done.stderr, done.stderr
