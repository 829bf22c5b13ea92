"""`--local-serve` / `--local-stop`: the emulator as a background process on a fixed loopback port.

Every later `--local` command finds it (deployer/emulator/local.py) and uses it instead of starting one of
its own, so stacks, change sets, parameters and images outlive each command: plan, then execute,
then --status, --set-image-tag, --destroy and a redeploy, as against AWS. Its pid and log live in
the git-ignored build/ folder. `python -m deployer.emulator.serve PORT` is the process itself.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from deployer.errors import UsageError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PORT = 4577  # PLATFORM_LOCAL_PORT overrides it (two checkouts, or tests, side by side)
START_SECONDS = 20


def port() -> int:
    value = os.environ.get("PLATFORM_LOCAL_PORT", "")
    if not value:
        return DEFAULT_PORT
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise UsageError(f"PLATFORM_LOCAL_PORT={value!r} is not a port number (expected 1-65535)")
    return int(value)


def _state_file(number: int) -> Path:
    return REPO_ROOT / "build" / f"local-emulator-{number}.json"


def _listening(url: str) -> bool:
    """A TCP connect, not a request: moto's own endpoints can take seconds once it holds many stacks."""
    host, number = url.removeprefix("http://").split(":")
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((host, int(number))) == 0


def running_url() -> str | None:
    """The URL of the emulator --local-serve started on this port, if it is still there."""
    state = _state_file(port())
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
        os.kill(int(data["pid"]), 0)
    except (OSError, ValueError, KeyError):
        state.unlink(missing_ok=True)  # a stale file from a process that is gone
        return None
    return str(data["url"]) if _listening(str(data["url"])) else None


def start() -> int:
    number = port()
    url = f"http://127.0.0.1:{number}"
    if running_url():
        print(f"the local emulator is already running on {url} — use --local with any command; "
              "stop it with python deploy.py --local-stop")
        return 0
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", number)) == 0:
            raise UsageError(f"port {number} is taken by another program — stop it, or set PLATFORM_LOCAL_PORT "
                             "to a free port for every --local command")
    state = _state_file(number)
    state.parent.mkdir(parents=True, exist_ok=True)
    with state.with_suffix(".log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "deployer.emulator.serve", str(number)], cwd=REPO_ROOT,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + START_SECONDS
    while not _listening(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise UsageError(f"the emulator did not start on {url} — see {state.with_suffix('.log')}")
        time.sleep(0.1)
    state.write_text(json.dumps({"pid": proc.pid, "url": url}), encoding="utf-8")
    print(f"local emulator running on {url} (pid {proc.pid}): every --local command now uses it and its "
          "state persists; stop it with python deploy.py --local-stop")
    return 0


def stop() -> int:
    state = _state_file(port())
    try:
        pid = int(json.loads(state.read_text(encoding="utf-8"))["pid"])
        os.kill(pid, signal.SIGTERM)  # whether or not it still answers
    except (OSError, ValueError, KeyError):
        state.unlink(missing_ok=True)
        print(f"no local emulator is running on port {port()}")
        return 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.1)
    state.unlink(missing_ok=True)
    print(f"local emulator on port {port()} stopped (its state is gone)")
    return 0


def serve(number: int) -> None:
    """The background process: moto's server with the emulator layer, until SIGTERM."""
    import logging

    from deployer.emulator.layer import start_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.ERROR)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    server = start_server(number)
    done.wait()
    server.stop()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
