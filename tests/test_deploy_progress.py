"""The live progress line: its formatting as pure functions, the reporter's redraws on a fake
terminal, and deploy.py under a real pseudo-terminal against the emulator (frames appear) and
without one (no carriage return at all, so CI logs stay clean)."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import tty

from deploy_support import Aws
from zygote_support import popen_deploy

from deployer.presentation.progress import StackProgress, progress_line
from deployer.presentation.report import CLEAR_LINE, Reporter

FRAME = re.compile(rb"\r\x1b\[K\[\s*\d+\.\ds\] registry (CREATE|UPDATE)_IN_PROGRESS \(\d+/[1-9]\d*\)")


def ev(logical: str, status: str, stack: str = "layered-dev-app-api") -> dict[str, str]:
    return {"StackName": stack, "LogicalResourceId": logical, "ResourceStatus": status}


def test_progress_line_names_each_stack_with_its_state_and_count() -> None:
    api, inference = StackProgress("UPDATE_IN_PROGRESS", total=10), StackProgress("CREATE_IN_PROGRESS", total=10)
    api.settled |= {f"R{i}" for i in range(7)}
    inference.settled |= {"A", "B", "C"}
    line = progress_line(12.44, {"app-api": api, "inference-api": inference})
    assert line == "[  12.4s] app-api UPDATE_IN_PROGRESS (7/10) · inference-api CREATE_IN_PROGRESS (3/10)"
    assert progress_line(0.05, {"registry": StackProgress("DELETE_IN_PROGRESS")}) == \
        "[   0.1s] registry DELETE_IN_PROGRESS"


def test_progress_line_fits_the_terminal_width() -> None:
    line = progress_line(1.0, {f"stack-{i}": StackProgress("UPDATE_IN_PROGRESS", 9) for i in range(5)}, width=60)
    assert len(line) == 59 and line.endswith("…")
    assert progress_line(1.0, {"a": StackProgress("X")}, width=60) == "[   1.0s] a X"


def test_events_move_the_stack_state_and_the_settled_count() -> None:
    p = StackProgress("UPDATE_IN_PROGRESS", total=3)
    p.update([ev("layered-dev-app-api", "UPDATE_IN_PROGRESS"), ev("Task", "UPDATE_IN_PROGRESS"),
              ev("Task", "UPDATE_COMPLETE"), ev("Rule", "CREATE_FAILED"),
              {"StackName": "layered-dev-app-api", "LogicalResourceId": "Nested", "ResourceStatus": "CREATE_COMPLETE"},
              ev("layered-dev-app-api", "UPDATE_ROLLBACK_IN_PROGRESS")])
    assert p.status == "UPDATE_ROLLBACK_IN_PROGRESS" and p.settled == {"Task", "Rule", "Nested"}
    p.update([ev("Task", "UPDATE_COMPLETE"), ev("Extra", "DELETE_COMPLETE")])
    assert p.label() == " (3/3)"  # never more than the change set touches (a rollback settles some twice)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_reporter_clears_the_line_before_each_event_line_and_redraws_it() -> None:
    out = FakeTerminal()
    r = Reporter("us-east-1", stream=out)
    r.track("registry", "CREATE_IN_PROGRESS", 2)
    r.line("an event")
    r.progress("registry", [ev("Repo", "CREATE_COMPLETE", stack="x")])
    r.untrack("registry")
    r.line("summary")
    text = re.sub(r"\[\s*\d+\.\ds\]", "[T]", out.getvalue())
    c, frame = re.escape(CLEAR_LINE), r"\[T\] registry CREATE_IN_PROGRESS \({}/2\)"
    # The ticker may add a redraw of the same frame at any point: hence the repetitions.
    expected = f"({c}{frame.format(0)})+{c}an event\n({c}{frame.format(0)})+({c}{frame.format(1)})+{c}summary\n"
    assert re.fullmatch(expected, text), repr(text)


def test_no_progress_line_off_a_terminal_or_in_json_mode() -> None:
    plain, as_json = io.StringIO(), FakeTerminal()
    for r in (Reporter("us-east-1", stream=plain), Reporter("us-east-1", json_mode=True, stream=as_json)):
        r.track("registry", "CREATE_IN_PROGRESS", 2)
        r.line("an event")
        r.untrack("registry")
    assert plain.getvalue() == as_json.getvalue() == "an event\n"


def run_on_a_terminal(aws: Aws, *args: str) -> tuple[int, bytes, str]:
    """deploy.py with its stdout on a pseudo-terminal (raw: the bytes it writes, no \\n -> \\r\\n)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    proc = popen_deploy(list(args), aws.env, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    chunks = []
    try:
        while select.select([master], [], [], 120)[0]:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child's side is closed
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    assert proc.stderr is not None
    return proc.wait(timeout=120), b"".join(chunks), proc.stderr.read().decode()


def test_deploy_on_a_terminal_draws_progress_frames(aws: Aws) -> None:
    code, out, err = run_on_a_terminal(aws, "--stack", "registry", "--yes")
    assert code == 0, out.decode(errors="replace") + err
    assert FRAME.search(out), out.decode(errors="replace")
    assert b"\r\x1b[K\x1b[" in out or b"\r\x1b[K[" in out  # event lines start on a cleared line
    assert not out.rstrip(b"\n").endswith(b"\x1b[K") and b"registry CREATE_COMPLETE" in out
    assert b"registry CHANGE_SET_CREATE_IN_PROGRESS" in out  # the clock runs while the change set is made too


def test_no_carriage_return_off_a_terminal_or_with_json(aws: Aws) -> None:
    done = aws.deploy("--stack", "registry", "--yes")
    assert done.returncode == 0 and "\r" not in done.stdout and "\r" not in done.stderr
    code, out, err = run_on_a_terminal(aws, "--stack", "registry", "--yes", "--output", "json")
    assert code == 0 and b"\r" not in out and "\r" not in err
