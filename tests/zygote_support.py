"""deploy.py runs for tests, forked from an interpreter that has already imported it (a "zygote").

Most of a short deploy.py run's CPU is the interpreter starting and importing boto3, botocore and
the deployer (about 0.7 s of a 1 s `--status`), and the suite runs deploy.py hundreds of times on
two cores. Each run is still its own process running deploy.py as `__main__`: its own argv,
environment, working directory, stdin/stdout/stderr and exit status, its own interpreter shutdown
(threads joined, atexit handlers, streams flushed); only the imports were done before the fork.

The zygote is one process per pytest worker, single-threaded (fork is only safe then), spoken to
over a SEQPACKET socket pair: a request carries argv/env/cwd and the three standard descriptors;
the answer is the child's pid, then its exit status. `run` falls back to a plain subprocess when
the zygote cannot serve (an interpreter variable differs, or it is gone); TEST_DEPLOY_FORK=0 turns
it off (to compare, or to rule it out).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "deploy.py"
# Modules a deploy.py run imports; importing them in the zygote is the whole saving.
PRELOAD = ("deploy", "boto3", "botocore.session", "deployer.commands", "deployer.aws.runner", "generators.synth")


def _child(request: dict[str, Any], fds: list[int]) -> None:
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [str(SCRIPT), *request["args"]]
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import runpy

    runpy.run_path(str(SCRIPT), run_name="__main__")
    # A normal end, or SystemExit from the script, leaves through the interpreter's own shutdown.
    raise SystemExit(0)


def serve(sock: socket.socket) -> None:
    sys.path[0] = str(REPO)  # as `python deploy.py` would have it
    for name in PRELOAD:
        __import__(name)
    assert threading.active_count() == 1, "a thread in the zygote would make fork unsafe"
    while True:
        msg, fds, _, _ = socket.recv_fds(sock, 1 << 20, 3)
        if not msg:
            return
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            sock.close()
            _child(json.loads(msg), fds)
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps({"pid": pid}).encode())
        _, status = os.waitpid(pid, 0)
        sock.send(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode())


class Zygote:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen([sys.executable, __file__, str(theirs.fileno())], pass_fds=[theirs.fileno()],
                                     env=env, cwd=REPO, stdin=subprocess.DEVNULL)
        theirs.close()
        self.lock = threading.Lock()

    def serves(self, env: dict[str, str]) -> bool:
        """Interpreter variables (PYTHON*) act at start-up, so only a run agreeing on them can fork."""
        python = {k for k in {*env, *self.env} if k.startswith("PYTHON")}
        return self.proc.poll() is None and all(env.get(k) == self.env.get(k) for k in python)

    def run(self, args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
        with self.lock, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
                open(os.devnull, "rb") as stdin:
            request = json.dumps({"args": args, "env": env, "cwd": str(cwd)}).encode()
            socket.send_fds(self.sock, [request], [stdin.fileno(), out.fileno(), err.fileno()])
            self.sock.settimeout(timeout)
            pid = json.loads(self.sock.recv(4096))["pid"]
            try:
                code = json.loads(self.sock.recv(4096))["code"]
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                self.sock.settimeout(None)
                self.sock.recv(4096)  # the zygote reaps it and says so
                raise subprocess.TimeoutExpired([str(SCRIPT), *args], timeout) from None
            finally:
                self.sock.settimeout(None)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess([sys.executable, str(SCRIPT), *args], code,
                                               out.read().decode(), err.read().decode())

    def close(self) -> None:
        self.sock.close()
        self.proc.wait(timeout=30)


_zygote: Zygote | None = None


def run_deploy(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """deploy.py `args` in the repository with `env` and stdin from /dev/null, as subprocess.run would."""
    global _zygote
    if os.environ.get("TEST_DEPLOY_FORK", "1") != "0":
        if _zygote is None:
            from deploy_support import clean_env

            _zygote = Zygote(clean_env(None))
            atexit.register(_zygote.close)  # the zygote ends when its socket closes; reaped here
        if _zygote.serves(env):
            return _zygote.run(args, env, REPO, timeout)
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
