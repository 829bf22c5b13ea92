"""Run deploy.py and record every file it writes: `python tests/write_watch.py REPORT deploy.py ARGS...`.

A refused command must write nothing. Comparing the work tree before and after proves that only
while no other test writes to it, which held every other worker still for each such test. Python's
audit hooks see each write the process itself makes (open for writing, mkdir, rename, remove,
link, chmod...), so the proof no longer depends on what other workers do at the same time.
Bytecode caches are the interpreter's, not the command's, and are left out.

The script runs deploy.py as `__main__` with deploy.py's own folder first on sys.path, as
`python deploy.py` would, and writes the recorded paths to REPORT (one per line) when it exits.
"""

from __future__ import annotations

import os
import runpy
import sys
from typing import Any

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
# Events whose first argument is a path the call changes (os.rename's second too).
CHANGING = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.symlink", "os.link", "os.truncate",
            "os.chmod", "os.chown", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile"}
written: list[str] = []
recording = True


def _path(value: Any) -> str | None:
    if isinstance(value, int):  # a file descriptor: its open was recorded
        return None
    if isinstance(value, bytes | str | os.PathLike):
        return os.fsdecode(value)
    return None


def _record(value: Any) -> None:
    path = _path(value)
    if path and "__pycache__" not in path and path != os.devnull:
        written.append(os.path.abspath(path))


def hook(event: str, args: tuple[Any, ...]) -> None:
    if not recording:
        return
    if event == "open" and len(args) == 3:
        path, mode, flags = args
        wants_write = (flags or 0) & WRITE_FLAGS or (isinstance(mode, str) and any(c in mode for c in "wax+"))
        if wants_write:
            _record(path)
    elif event in CHANGING and args:
        _record(args[0])
        if event in ("os.rename", "shutil.move", "shutil.copyfile") and len(args) > 1:
            _record(args[1])


def main() -> int:
    global recording
    report, script, *rest = sys.argv[1:]
    sys.argv = [script, *rest]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    sys.addaudithook(hook)
    code: Any = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        code = exit_.code
    finally:
        recording = False
        with open(report, "w", encoding="utf-8") as out:
            out.write("".join(f"{p}\n" for p in written))
    if isinstance(code, int) or code is None:
        return code or 0
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
