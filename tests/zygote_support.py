"""deploy.py runs for tests, forked from an interpreter that has already imported it (a "zygote").

Most of a short deploy.py run's CPU is the interpreter starting and importing boto3, botocore and
the deployer (about 0.7 s of a 1 s `--status`), and the suite runs deploy.py hundreds of times on
two cores. Each run is still its own process running deploy.py as `__main__`: its own argv,
environment, working directory, stdin/stdout/stderr and exit status, its own interpreter shutdown
(threads joined, atexit handlers, streams flushed); only the imports were done before the fork.

The zygote is one process per pytest worker (and one more for `--local` runs), single-threaded
(fork is only safe then), spoken to over a SEQPACKET socket pair: a request carries argv/env/cwd,
the three standard descriptors and a socket of the run's own, on which the zygote sends the child's
pid, then its exit status once reaped; runs may overlap. `popen_deploy` is subprocess.Popen for it
(ForkedPopen: pipes, terminals, signals, communicate and timeouts are Popen's own), and
`run_deploy` is subprocess.run on top of it. Both fall back to a plain subprocess when the zygote cannot serve (an
interpreter variable differs, or it is gone); TEST_DEPLOY_FORK=0 turns it off (to compare, or to
rule it out).

Two more things are done once in the zygote rather than in every run (measured on `--status`
against the worker's emulator: 0.51 s of CPU per run before, 0.23 s after):
- botocore's JSON files (service models, endpoint rules) are parsed once: every run still builds
  its own session, loader and clients from them, but reads them from the zygote's parse, which no
  run can change (each run is a copy-on-write copy of it);
- `gc.freeze()` after the imports: a run's interpreter shutdown ends with a garbage collection
  that otherwise walks, and so copies page by page, every object the imports made (0.2 s).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import types
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# Modules a deploy.py run imports; importing them in the zygote is most of the saving. Every module
# of the tool is imported except the emulator's layer, which imports moto (only --local needs it).
PRELOAD = ("deploy", "boto3", "botocore.session", "encodings.idna")
PACKAGES = ("deployer", "generators")
SKIP = ("deployer.emulator.layer", "deployer.emulator.serve")
# `--local` runs start moto in the run itself: their zygote has imported it too (about 2.5 s of a 4.6 s
# one-shot `--local --stack registry`, mostly moto's EC2 reading botocore's endpoint files). A zygote of
# its own, so the other runs' processes never hold moto's modules (moto adds a botocore handler on import).
LOCAL_PRELOAD = ("deployer.emulator.layer", "deployer.emulator.serve")
# Clients deploy.py makes (deployer/aws/runner.py): their models are parsed in the zygote.
SERVICES = ("cloudformation", "ssm", "ecr", "s3", "sts", "logs", "ecs", "elbv2", "cloudwatch", "secretsmanager",
            "cloudfront", "application-autoscaling")


# deploy.py's path and code, compiled once in the zygote (serve).
SCRIPT: dict[str, Any] = {}


def _child(request: dict[str, Any], fds: list[int]) -> None:
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    # New stream objects over fds 0-2, made as the interpreter makes them at start-up: line-buffered on
    # a terminal (the review prompt, the progress frames), block-buffered otherwise, stderr line-buffered.
    sys.stdin = open(0, encoding=sys.stdin.encoding, errors=sys.stdin.errors, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding=sys.stdout.encoding, errors=sys.stdout.errors, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding=sys.stderr.encoding, errors="backslashreplace",  # noqa: SIM115
                      closefd=False)
    if request["env"].get("PYTHONUNBUFFERED"):
        sys.stdout.reconfigure(write_through=True)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [SCRIPT["path"], *request["args"]]
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # As `python deploy.py` runs it: a fresh __main__ module; the script was compiled once, in the zygote.
    main = types.ModuleType("__main__")
    main.__file__ = SCRIPT["path"]
    sys.modules["__main__"] = main
    exec(SCRIPT["code"], main.__dict__)
    # A normal end, or SystemExit from the script, leaves through the interpreter's own shutdown.
    raise SystemExit(0)


def _preload(root: Path, local: bool) -> None:
    import pkgutil

    for name in PRELOAD:
        __import__(name)
    for package in PACKAGES:
        for module in pkgutil.walk_packages([str(root / package)], f"{package}."):
            if module.name not in SKIP:
                __import__(module.name)
    for name in LOCAL_PRELOAD if local else ():
        __import__(name)


def _parse_botocore_files_once() -> None:
    import botocore.loaders

    parse = botocore.loaders.JSONFileLoader.load_file
    parsed: dict[str, Any] = {}

    def load_file(self: botocore.loaders.JSONFileLoader, file_path: str) -> Any:
        if file_path not in parsed:
            parsed[file_path] = parse(self, file_path)
        return parsed[file_path]

    botocore.loaders.JSONFileLoader.load_file = load_file  # type: ignore[method-assign]
    # The tool's own shared loader (runner._session) keeps the models it has loaded: loaded here, no run
    # lists botocore's data folder or builds a model again (a session made otherwise still finds the
    # files parsed).
    from botocore.exceptions import DataNotFoundError

    from deployer.aws.runner import Clients

    clients = Clients("us-east-1")
    loader = clients.session._session.get_component("data_loader")
    for service in SERVICES:
        version = clients._client(service).meta.service_model.api_version
        # Waiters and paginators too: each kind's first load lists the data folder (some 450 folders),
        # and 150 of the suite's runs used one.
        for kind in ("waiters-2", "paginators-1"):
            with contextlib.suppress(DataNotFoundError):
                loader.load_service_model(service, kind, version)


def _render_committed_configuration(root: Path) -> None:
    """The generators' output for each environment of root's platform.toml, rendered here once.

    Most runs deploy that configuration, and rendering is most of what a run computes (some 50 ms of
    troposphere and JSON). The generators are pure functions of the loaded configuration (a frozen,
    hashable dataclass), so an equal configuration gets the same texts; any other renders as before."""
    import generators.synth
    from generators.config import environment_names, load_config

    render = generators.synth.render
    config = root / "platform.toml"
    rendered = {cfg: render(cfg) for cfg in (load_config(config, env) for env in environment_names(config))}

    def render_once(cfg: Any) -> dict[str, str]:
        texts = rendered.get(cfg)
        return dict(texts) if texts is not None else render(cfg)

    generators.synth.render = render_once  # synth() and deploy.py call it through the module


def serve(sock: socket.socket, root: Path, local: bool) -> None:
    sys.path[0] = str(root)  # as `python <root>/deploy.py` would have it
    SCRIPT["path"] = str(root / "deploy.py")
    SCRIPT["code"] = compile(Path(SCRIPT["path"]).read_text(encoding="utf-8"), SCRIPT["path"], "exec")
    _parse_botocore_files_once()
    _preload(root, local)
    _render_committed_configuration(root)
    assert threading.active_count() == 1, "a thread in the zygote would make fork unsafe"
    import gc

    gc.freeze()
    sock.send(b"ready")
    # Runs overlap (a test reads one run's terminal while it makes others): each request brings, besides
    # the run's stdin, stdout and stderr, a socket of its own on which the run's pid is sent at once and
    # its exit status once it is reaped (SIGCHLD wakes the loop through set_wakeup_fd).
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.set_wakeup_fd(wake_w)
    waiting = selectors.DefaultSelector()
    waiting.register(sock, selectors.EVENT_READ)
    waiting.register(wake_r, selectors.EVENT_READ)
    runs: dict[int, socket.socket] = {}
    while True:
        for key, _ in waiting.select():
            if key.fileobj is sock:
                msg, fds, _, _ = socket.recv_fds(sock, 1 << 20, 4)
                if not msg:
                    return
                status = socket.socket(fileno=fds.pop())
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    waiting.close()
                    for fd in (wake_r, wake_w, sock.detach(), *(run.detach() for run in runs.values())):
                        os.close(fd)
                    status.close()
                    _child(json.loads(msg), fds)
                for fd in fds:
                    os.close(fd)
                status.send(json.dumps({"pid": pid}).encode())
                runs[pid] = status
            else:
                os.read(wake_r, 4096)  # the signals' bytes (any left over only wake the loop once more)
                while runs:
                    pid, code, usage = os.wait4(-1, os.WNOHANG)
                    if pid == 0:
                        break
                    status = runs.pop(pid)
                    with contextlib.suppress(OSError):  # the test side may be gone (timed out, killed)
                        status.send(json.dumps({"code": os.waitstatus_to_exitcode(code),
                                                "cpu": usage.ru_utime + usage.ru_stime}).encode())
                    status.close()


class Zygote:
    """A zygote for the deploy.py of `root` (the repository, or a copy of it: state_support.source_copy);
    with `local`, for its `--local` runs."""

    def __init__(self, env: dict[str, str], root: Path, local: bool) -> None:
        self.env = env
        self.root = root
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen([sys.executable, __file__, str(theirs.fileno()), str(root), "local" * local],
                                     pass_fds=[theirs.fileno()], env=env, cwd=root, stdin=subprocess.DEVNULL)
        theirs.close()
        self.lock = threading.Lock()
        self.ready = False

    def wait_ready(self) -> None:
        """Until the zygote has imported everything (it writes nothing after this point)."""
        with self.lock:
            if not self.ready:
                self.sock.settimeout(120)
                try:
                    self.ready = self.sock.recv(16) == b"ready"
                finally:
                    self.sock.settimeout(None)

    def start(self, args: list[str], env: dict[str, str], cwd: Path,
              fds: tuple[int, int, int]) -> tuple[int, socket.socket]:
        """Fork a run with `fds` as its stdin, stdout and stderr: its pid, and the socket its status comes on."""
        self.wait_ready()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        request = json.dumps({"args": args, "env": env, "cwd": str(cwd)}).encode()
        with self.lock, theirs:
            socket.send_fds(self.sock, [request], [*fds, theirs.fileno()])
        return json.loads(ours.recv(4096))["pid"], ours

    def close(self) -> None:
        self.sock.close()
        self.proc.wait(timeout=30)


# CPU seconds used by the runs forked so far for this process (bench/pytest_cpu.py reads it per test: a
# forked run is the zygote's child, not this process's, so RUSAGE_CHILDREN does not see it).
forked_cpu = 0.0


def ended(status: socket.socket) -> int:
    """The exit status the zygote sends once it has reaped the run (waits as the socket's timeout says)."""
    global forked_cpu
    done = json.loads(status.recv(4096))
    forked_cpu += done["cpu"]
    return int(done["code"])


class ForkedPopen(subprocess.Popen):  # type: ignore[type-arg]
    """subprocess.Popen for a deploy.py run forked by a zygote: Popen makes the pipes and does the
    reading, writing and timeouts (communicate, wait, send_signal, context manager) as it always does;
    only starting the child and learning its exit status go through the zygote (the run is the zygote's
    child, so waitpid here would not see it)."""

    def __init__(self, zygote: Zygote, args: list[str], **kwargs: Any) -> None:
        self._zygote = zygote
        self._deploy_args = args
        self._status: socket.socket | None = None
        super().__init__([sys.executable, str(zygote.root / "deploy.py"), *args], **kwargs)

    def _execute_child(self, args: Any, executable: Any, preexec_fn: Any, close_fds: Any, pass_fds: Any, cwd: Any,
                       env: Any, startupinfo: Any, creationflags: Any, shell: Any, p2cread: int, p2cwrite: int,
                       c2pread: int, c2pwrite: int, errread: int, errwrite: int, *rest: Any) -> None:
        fds = (p2cread if p2cread != -1 else 0, c2pwrite if c2pwrite != -1 else 1, errwrite if errwrite != -1 else 2)
        try:
            self.pid, self._status = self._zygote.start(self._deploy_args, dict(env or os.environ),
                                                        Path(cwd or self._zygote.root), fds)
            self._child_created = True
        finally:  # the child's ends of the pipes, closed here as Popen closes them after a fork
            for child_end, parent_end in ((p2cread, p2cwrite), (c2pwrite, c2pread), (errwrite, errread)):
                if child_end != -1 and parent_end != -1 and child_end != getattr(self, "_devnull", None):
                    os.close(child_end)
            if hasattr(self, "_devnull"):
                os.close(self._devnull)
            self._closed_child_pipe_fds = True

    def _ended(self, timeout: float | None) -> None:
        assert self._status is not None
        self._status.settimeout(timeout)
        self.returncode = ended(self._status)
        self._status.close()

    def _internal_poll(self, *args: Any, **kwargs: Any) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(TimeoutError, BlockingIOError):
                self._ended(0)
        return self.returncode

    def _wait(self, timeout: float | None) -> int:
        if self.returncode is None:
            try:
                self._ended(timeout)
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
        assert self.returncode is not None
        return self.returncode

# One zygote per project root and per set of interpreter variables (PYTHON*: they act at start-up,
# so a run can only be forked from an interpreter that started with the same ones).
_zygotes: dict[tuple[Path, bool, frozenset[tuple[str, str]]], Zygote] = {}


def zygote(env: dict[str, str], root: Path = REPO, local: bool = False) -> Zygote | None:
    """The zygote for runs of `root`'s deploy.py with `env` (started on first use), or None when
    TEST_DEPLOY_FORK=0. `local`: for `--local` runs (moto imported too)."""
    if os.environ.get("TEST_DEPLOY_FORK", "1") == "0":
        return None
    # (PYTHONUNBUFFERED aside: each run makes its standard streams itself, as that variable says.)
    python = frozenset((k, v) for k, v in env.items() if k.startswith("PYTHON") and k != "PYTHONUNBUFFERED")
    key = (root, local, python)
    if key not in _zygotes or _zygotes[key].proc.poll() is not None:
        from deploy_support import clean_env

        start = {k: v for k, v in clean_env(None).items() if not k.startswith("PYTHON")} | dict(python)
        _zygotes[key] = Zygote(start, root, local)
        atexit.register(_zygotes[key].close)  # the zygote ends when its socket closes; reaped here
    return _zygotes[key]


def popen_deploy(args: list[str], env: dict[str, str], root: Path = REPO, **kwargs: Any) -> subprocess.Popen[Any]:
    """`root`'s deploy.py with `args` and `env` (in `root` unless `cwd` says), as subprocess.Popen([python,
    deploy.py, *args], **kwargs) would start it (stdin, stdout, stderr, text...): forked when a zygote can
    serve it."""
    kwargs.setdefault("cwd", root)
    forked = zygote(env, root, local="--local" in args)
    if forked is not None:
        return ForkedPopen(forked, args, env=env, **kwargs)
    return subprocess.Popen([sys.executable, str(root / "deploy.py"), *args], env=env, **kwargs)


def run_deploy(args: list[str], env: dict[str, str], timeout: float, root: Path = REPO,
               cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`root`'s deploy.py with `args` in `cwd` (default `root`) with `env` and stdin from /dev/null, as
    subprocess.run would (bytes read, then decoded: no newline translation hides a stray carriage return)."""
    with popen_deploy(args, env, root, cwd=cwd or root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), err.decode())


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])), Path(sys.argv[2]), sys.argv[3] == "local")
