"""deploy.py runs for tests, forked from an interpreter that has already imported it (a "zygote").

Most of a short deploy.py run's CPU is the interpreter starting and importing boto3, botocore and
the deployer (about 0.7 s of a 1 s `--status`), and the suite runs deploy.py hundreds of times on
two cores. Each run is still its own process running deploy.py as `__main__`: its own argv,
environment, working directory, stdin/stdout/stderr and exit status, its own interpreter shutdown
(threads joined, atexit handlers, streams flushed; the module teardown after them is skipped, see
_exit); only the imports were done before the fork.

Zygotes come in four kinds: `deploy` (deploy.py), `local` (deploy.py's `--local` runs: moto
imported too), `service` (the FastAPI services, tests/services/service_fork.py) and `moto` (stock moto
servers: moto imported, nothing else done; stock_moto_server). Under xdist the
controller starts one of each, and one for the project copy refused commands run from, before the
workers start (`start_shared`): every worker connects to them instead of starting its own (some 8 s
of CPU per worker). A zygote is single-threaded (fork is only safe then) and spoken to over
SEQPACKET sockets: a request carries argv/env/cwd, the three standard descriptors and a socket of the
run's own, on which the zygote sends the child's pid, then its exit status once reaped; runs may
overlap. A connection that closes (its worker ended) takes the runs it started with it.
`popen_deploy` is subprocess.Popen for it (ForkedPopen: pipes, terminals, signals, communicate and
timeouts are Popen's own), and `run_deploy` is subprocess.run on top of it. Both fall back to a plain
subprocess when no zygote can serve; TEST_DEPLOY_FORK=0 turns them all off (to compare, or to rule
them out).

Three more things are done once in the zygote rather than in every run (measured on `--status`
against the worker's emulator: 0.51 s of CPU per run before the first two, 0.23 s after):
- botocore's JSON files (service models, endpoint rules) are parsed once: every run still builds
  its own session, loader and clients from them, but reads them from the zygote's parse, which no
  run can change (each run is a copy-on-write copy of it);
- botocore's checks of each event handler a session or client registers (share_botocore_handler_checks);
- `gc.freeze()` after the imports: a run's interpreter shutdown ends with a garbage collection
  that otherwise walks, and so copies page by page, every object the imports made (0.2 s).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
import warnings
from collections.abc import Iterator
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
# The modules a service imports before it answers, as far as they are installed: the kit, both
# services, uvicorn with the loop and protocol it picks (uvloop, httptools), and the agent's libraries.
# A module that is missing is skipped (the service then imports it itself).
SERVICE_PRELOAD = (
    "service_kit.server", "service_kit.factory", "service_kit.early", "service_kit.prelisten",
    "app_api.__main__", "app_api.app", "inference_api.__main__", "inference_api.app",
    "uvicorn", "uvicorn.server", "uvicorn.loops.uvloop", "uvicorn.protocols.http.httptools_impl",
    "uvicorn.lifespan.on", "inference_api.agent", "inference_api.agentcore", "strands", "strands.models",
    "strands_tools",
)

# A stock moto server's modules (`python -m moto.server`, which the tests start against endpoints the tool
# did not patch): its server, and the services a deploy asks it for, whose first request imports them
# (CloudFormation's imports most of the rest). Importing is all its zygote does: none of the other
# zygotes' botocore caches, nothing of moto changed (each stock server took about 5 s of CPU, half of
# it importing).
MOTO_PRELOAD = ("moto.server", "moto.backend_index", "moto.moto_api._internal.urls", *(
    f"moto.{name}.urls" for name in ("cloudformation", "ec2", "ecr", "ecs", "elbv2", "iam", "kms", "logs", "s3",
                                     "secretsmanager", "sns", "ssm", "sts", "cloudwatch", "events")))

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
    # PYTHONWARNINGS as start-up reads it: its filters go in front of those the zygote has (it starts
    # without the variable: _key), so one zygote serves runs with it and without it.
    sys.warnoptions[:] = [o for o in request["env"].get("PYTHONWARNINGS", "").split(",") if o]
    warnings._processoptions(sys.warnoptions)  # type: ignore[attr-defined]
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _run(request)
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            _exit(stop.code or 0)
        raise  # a message to print: the interpreter's own way
    _exit(0)
    # Anything else raised (a traceback, an uncaught Ctrl-C) leaves through the interpreter as it would.


def _run(request: dict[str, Any]) -> None:
    if "entry" in request:  # a service: its console script's entry point, as the script pip wrote calls it
        # PYTHONPATH acts at start-up: its entries go first on sys.path, as the interpreter puts them.
        sys.path[:0] = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path]
        sys.argv = [request["argv0"], *request["args"]]
        module, _, name = request["entry"].partition(":")
        sys.exit(getattr(importlib.import_module(module), name)())
    sys.argv = [SCRIPT["path"], *request["args"]]
    # As `python deploy.py` runs it: a fresh __main__ module; the script was compiled once, in the zygote.
    main = types.ModuleType("__main__")
    main.__file__ = SCRIPT["path"]
    sys.modules["__main__"] = main
    exec(SCRIPT["code"], main.__dict__)


def _exit(code: int) -> None:
    """The interpreter's shutdown up to the module teardown, then the exit status: non-daemon threads
    joined, atexit handlers run (logging's, weakref finalizers', the tool's own), stdout and stderr
    flushed. The teardown that follows in a normal exit frees every object the zygote's imports made,
    which writes to (and so copies, page by page) most of the memory the run shares with the zygote:
    about 7,000 page faults and 60 ms of CPU of a `--help` run's 85 (os._exit ends a forked child
    the same way in multiprocessing). A flush that fails goes back to the interpreter's own exit, which
    reports it as it would."""
    threading._shutdown()  # type: ignore[attr-defined]
    leave_without_teardown(code)
    raise SystemExit(code) from None


def leave_without_teardown(code: int) -> None:
    """The atexit handlers run, stdout and stderr flushed, then os._exit(code) (see _exit); returns only when
    a flush fails, for the interpreter's own exit to report it."""
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code)


def _preload(root: Path, kind: str) -> None:
    import pkgutil

    if kind in ("service", "moto"):
        for name in SERVICE_PRELOAD if kind == "service" else MOTO_PRELOAD:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        return
    for name in PRELOAD:
        __import__(name)
    for package in PACKAGES:
        for module in pkgutil.walk_packages([str(root / package)], f"{package}."):
            if module.name not in SKIP:
                __import__(module.name)
    for name in LOCAL_PRELOAD if kind == "local" else ():
        __import__(name)


def parse_botocore_files_once() -> None:
    """Each of botocore's JSON files parsed once per process, whichever session or loader asks (every new
    session parses endpoints.json, about 1 MB, and each loader its models): for the zygotes, and for the
    test processes themselves (tests/conftest.py), whose in-process services and emulator make many."""
    import botocore.loaders

    parse = botocore.loaders.JSONFileLoader.load_file
    if getattr(parse, "shared", False):
        return
    parsed: dict[str, Any] = {}

    def load_file(self: botocore.loaders.JSONFileLoader, file_path: str) -> Any:
        if file_path not in parsed:
            parsed[file_path] = parse(self, file_path)
        return parsed[file_path]

    load_file.shared = True  # type: ignore[attr-defined]
    botocore.loaders.JSONFileLoader.load_file = load_file  # type: ignore[method-assign]


def _parse_botocore_files_once(kind: str) -> None:
    parse_botocore_files_once()
    if kind == "service":  # the one client the services make (the agent's model makes it in a warm-up)
        import boto3

        boto3.Session().client("bedrock-runtime", region_name="us-east-1")
        return
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


def share_botocore_handler_checks() -> None:
    """Two answers every session and client works out again, worked out once per process (the zygotes, and
    the test processes: tests/conftest.py).

    A run's session registers some 130 event handlers and each client some 40 more; for each one
    botocore checks that the handler takes **kwargs (inspect.getfullargspec, about 0.3 ms) and
    rewrites the event's name through its aliases (a per-session cache, empty for each new session):
    a third of the 70 ms a session and four clients cost. Both answers depend only on the handler
    function and the event name (and the default alias table), so one cache serves every session."""
    import botocore.hooks

    names: dict[str, str] = {}
    init = botocore.hooks.EventAliaser.__init__

    def aliaser_init(self: Any, event_emitter: Any, event_aliases: Any = None) -> None:
        init(self, event_emitter, event_aliases)
        if event_aliases is None:  # the default table: the same name always aliases to the same name
            self._alias_name_cache = names

    accepts = botocore.hooks.accepts_kwargs
    known: dict[Any, bool] = {}

    def accepts_kwargs(func: Any) -> bool:
        key = getattr(func, "__func__", func)  # a bound method takes what its function takes
        try:
            return known[key]
        except KeyError:
            known[key] = answer = bool(accepts(func))
            return answer
        except TypeError:  # unhashable: asked as before
            return bool(accepts(func))

    botocore.hooks.EventAliaser.__init__ = aliaser_init  # type: ignore[method-assign]
    botocore.hooks.accepts_kwargs = accepts_kwargs  # type: ignore[attr-defined]


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


def serve(control: socket.socket, listener: socket.socket | None, root: Path, kind: str) -> None:
    """Preload for `kind`, say ready on `control`, then fork a run for each request that comes on
    `control` or on a connection `listener` accepts, until `control` closes."""
    sys.path[0] = str(root)  # as `python <root>/deploy.py` would have it
    SCRIPT["path"] = str(root / "deploy.py")
    SCRIPT["code"] = compile(Path(SCRIPT["path"]).read_text(encoding="utf-8"), SCRIPT["path"], "exec")
    if kind != "moto":  # stock: imported, nothing else
        share_botocore_handler_checks()
        _parse_botocore_files_once(kind)
    _preload(root, kind)
    if kind not in ("service", "moto"):
        _render_committed_configuration(root)
    assert threading.active_count() == 1, "a thread in the zygote would make fork unsafe"
    import gc

    gc.freeze()
    control.send(b"ready")
    # Runs overlap (a test reads one run's terminal while it makes others): each request brings, besides
    # the run's stdin, stdout and stderr, a socket of its own on which the run's pid is sent at once and
    # its exit status once it is reaped (SIGCHLD wakes the loop through set_wakeup_fd).
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.set_wakeup_fd(wake_w)
    waiting = selectors.DefaultSelector()
    waiting.register(wake_r, selectors.EVENT_READ)
    connections = [control]
    waiting.register(control, selectors.EVENT_READ)
    if listener is not None:
        waiting.register(listener, selectors.EVENT_READ)
    runs: dict[int, tuple[socket.socket, socket.socket]] = {}  # pid: (its status socket, its connection)

    def end_runs_of(connection: socket.socket | None) -> None:
        for pid, (_, by) in list(runs.items()):
            if connection is None or by is connection:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    while True:
        for key, _ in waiting.select():
            if key.fileobj is listener:
                connection, _ = listener.accept()
                connection.send(b"ready")
                connections.append(connection)
                waiting.register(connection, selectors.EVENT_READ)
            elif key.fileobj is wake_r:
                os.read(wake_r, 4096)  # the signals' bytes (any left over only wake the loop once more)
                while runs:
                    pid, code, usage = os.wait4(-1, os.WNOHANG)
                    if pid == 0:
                        break
                    status, _ = runs.pop(pid)
                    with contextlib.suppress(OSError):  # the test side may be gone (timed out, killed)
                        status.send(json.dumps({"code": os.waitstatus_to_exitcode(code),
                                                "cpu": usage.ru_utime + usage.ru_stime}).encode())
                    status.close()
            else:
                connection = key.fileobj  # type: ignore[assignment]
                try:
                    msg, fds, _, _ = socket.recv_fds(connection, 1 << 20, 4)
                except ConnectionResetError:  # closed with our `ready` unread: closed all the same
                    msg, fds = b"", []
                if not msg:  # its side closed: the runs it left are ended (they would outlive their test)
                    end_runs_of(None if connection is control else connection)
                    if connection is control:
                        return
                    waiting.unregister(connection)
                    connections.remove(connection)
                    connection.close()
                    continue
                status = socket.socket(fileno=fds.pop())
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    waiting.close()
                    others = [*connections, *(listener,) * (listener is not None), *(run for run, _ in runs.values())]
                    for fd in (wake_r, wake_w, *(sock.detach() for sock in others)):
                        os.close(fd)
                    status.close()
                    _child(json.loads(msg), fds)
                for fd in fds:
                    os.close(fd)
                status.send(json.dumps({"pid": pid}).encode())
                runs[pid] = (status, connection)


class Zygote:
    """A zygote of `kind` for `root` (the repository, or a copy of it: state_support.source_copy): one this
    process started (`spawn`), or one started for the whole run that it connected to (`connect`)."""

    def __init__(self, root: Path, sock: socket.socket, proc: subprocess.Popen[bytes] | None) -> None:
        self.root = root
        self.sock = sock
        self.proc = proc
        self.lock = threading.Lock()
        self.ready = False

    @classmethod
    def spawn(cls, env: dict[str, str], root: Path, kind: str, listener: socket.socket | None = None) -> Zygote:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fds = [theirs.fileno(), *([listener.fileno()] if listener is not None else [])]
        proc = subprocess.Popen([sys.executable, __file__, str(root), kind, *map(str, fds)], pass_fds=fds, env=env,
                                cwd=root, stdin=subprocess.DEVNULL)
        theirs.close()
        return cls(root, ours, proc)

    @classmethod
    def connect(cls, path: str, root: Path) -> Zygote:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        return cls(root, sock, None)

    def alive(self) -> bool:
        return self.proc is None or self.proc.poll() is None

    def wait_ready(self) -> None:
        """Until the zygote has imported everything (it writes nothing after this point)."""
        with self.lock:
            if not self.ready:
                self.sock.settimeout(120)
                try:
                    self.ready = self.sock.recv(16) == b"ready"
                finally:
                    self.sock.settimeout(None)

    def start(self, request: dict[str, Any], fds: tuple[int, int, int]) -> tuple[int, socket.socket]:
        """Fork a run (args, env, cwd; `entry` and `argv0` for a service) with `fds` as its stdin, stdout and
        stderr: its pid, and the socket its status comes on."""
        self.wait_ready()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with self.lock, theirs:
            socket.send_fds(self.sock, [json.dumps(request).encode()], [*fds, theirs.fileno()])
        return json.loads(ours.recv(4096))["pid"], ours

    def close(self) -> None:
        self.sock.close()
        if self.proc is not None:
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
    """subprocess.Popen for a run (deploy.py, or a service) forked by a zygote: Popen makes the pipes and does the
    reading, writing and timeouts (communicate, wait, send_signal, context manager) as it always does;
    only starting the child and learning its exit status go through the zygote (the run is the zygote's
    child, so waitpid here would not see it)."""

    def __init__(self, zygote: Zygote, args: list[str], service: tuple[str, str] | None = None, **kwargs: Any) -> None:
        """deploy.py with `args`; or with `service` (entry point, console script), that service."""
        self._zygote = zygote
        self._request: dict[str, Any] = {"args": args}
        if service is not None:
            self._request.update(entry=service[0], argv0=service[1])
        self._status: socket.socket | None = None
        shown = [service[1]] if service is not None else [sys.executable, str(zygote.root / "deploy.py")]
        super().__init__([*shown, *args], **kwargs)

    def _execute_child(self, args: Any, executable: Any, preexec_fn: Any, close_fds: Any, pass_fds: Any, cwd: Any,
                       env: Any, startupinfo: Any, creationflags: Any, shell: Any, p2cread: int, p2cwrite: int,
                       c2pread: int, c2pwrite: int, errread: int, errwrite: int, *rest: Any) -> None:
        fds = (p2cread if p2cread != -1 else 0, c2pwrite if c2pwrite != -1 else 1, errwrite if errwrite != -1 else 2)
        try:
            request = {**self._request, "env": dict(env or os.environ), "cwd": str(cwd or self._zygote.root)}
            self.pid, self._status = self._zygote.start(request, fds)
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

# One zygote per project root, kind and set of interpreter variables (PYTHON*: they act at start-up, so a
# run can only be forked from an interpreter that started with the same ones).
ZygoteKey = tuple[Path, str, frozenset[tuple[str, str]]]
_zygotes: dict[ZygoteKey, Zygote] = {}
# The zygotes started for the whole run (start_shared), as the controller tells its workers.
SHARED = "TEST_ZYGOTES"


def enabled() -> bool:
    return os.environ.get("TEST_DEPLOY_FORK", "1") != "0"


def _key(env: dict[str, str] | os._Environ[str], root: Path, kind: str) -> ZygoteKey:
    # PYTHONUNBUFFERED and PYTHONWARNINGS aside: each run makes its standard streams and applies its warning
    # filters itself, as those variables say (_child). A service puts PYTHONPATH's entries on sys.path itself.
    ignored = ("PYTHONUNBUFFERED", "PYTHONWARNINGS", *(("PYTHONPATH",) if kind == "service" else ()))
    return root, kind, frozenset((k, v) for k, v in env.items() if k.startswith("PYTHON") and k not in ignored)


def _start_env(key: ZygoteKey) -> dict[str, str]:
    from deploy_support import clean_env

    return {k: v for k, v in clean_env(None).items() if not k.startswith("PYTHON")} | dict(key[2])


def _shared(key: ZygoteKey) -> str | None:
    for entry in json.loads(os.environ.get(SHARED, "[]")):
        if _key(entry["python"], Path(entry["root"]), entry["kind"]) == key:
            return str(entry["path"])
    return None


def zygote(env: dict[str, str], root: Path = REPO, local: bool = False, kind: str | None = None,
           shared_only: bool = False) -> Zygote | None:
    """The zygote for runs of `root`'s deploy.py with `env` (`local`: its `--local` runs; `kind="service"`:
    the services; `kind="moto"`: stock moto servers), the run's shared one when there is one, else one
    started on first use (`shared_only`: None instead); None when TEST_DEPLOY_FORK=0."""
    if not enabled():
        return None
    key = _key(env, root, kind or ("local" if local else "deploy"))
    if key not in _zygotes or not _zygotes[key].alive():
        found = None
        path = _shared(key)
        if path is not None:
            with contextlib.suppress(OSError):  # gone: this process starts its own
                found = Zygote.connect(path, root)
        if found is None:
            if shared_only:
                return None
            found = Zygote.spawn(_start_env(key), root, key[1])
        _zygotes[key] = found
        atexit.register(found.close)  # a zygote ends when its socket closes; reaped here
    return _zygotes[key]


class Shared:
    """The zygotes one process starts for every worker of a run (start_shared), ended by `close`."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="zygotes-"))
        self.zygotes: list[Zygote] = []
        self.advertised: list[dict[str, Any]] = []

    def add(self, root: Path, kind: str, env: dict[str, str], prepare: Any = None) -> None:
        """A zygote of `kind` for `root`, listening at once; `prepare()` (in a thread) runs before it starts,
        and a worker connecting meanwhile waits for its `ready`."""
        key = _key(env, root, kind)
        path = str(self.directory / f"{len(self.advertised)}.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind(path)
        listener.listen(64)
        self.advertised.append({"root": str(root), "kind": kind, "python": dict(key[2]), "path": path})

        def start() -> None:
            try:
                if prepare is not None:
                    prepare()
                self.zygotes.append(Zygote.spawn(_start_env(key), root, kind, listener))
            finally:
                listener.close()  # the zygote holds its own copy; failed: connecting fails, workers start their own

        if prepare is None:
            start()
        else:
            threading.Thread(target=start, name=f"zygote-{kind}", daemon=True).start()

    def close(self) -> None:
        for found in self.zygotes:
            found.close()
        import shutil

        shutil.rmtree(self.directory, ignore_errors=True)


def start_shared() -> Shared | None:
    """In the xdist controller, before the workers start: the deploy, local and service zygotes of the
    repository, and a deploy zygote of a project copy made here once for the run (state_support.source_copy,
    for refused commands), advertised to the workers in TEST_ZYGOTES. None when forking is off."""
    if not enabled():
        return None
    from deploy_support import clean_env
    from state_support import source_copy

    shared = Shared()
    env = clean_env(None)
    for kind in ("deploy", "local"):
        shared.add(REPO, kind, env)
    shared.add(REPO, "service", dict(os.environ))
    shared.add(REPO, "moto", dict(os.environ))
    # Refused commands run the copy with the worker's own environment (state_support.refused_still).
    copy = shared.directory / "source"
    shared.add(copy, "deploy", dict(os.environ), prepare=lambda: source_copy(copy))
    os.environ[SHARED] = json.dumps(shared.advertised)
    return shared


def shared_project_copy() -> Path | None:
    """The project copy start_shared made for this run, if any (its zygote's `ready` says it is complete)."""
    for entry in json.loads(os.environ.get(SHARED, "[]")):
        if entry["root"] != str(REPO):
            return Path(entry["root"])
    return None


def popen_deploy(args: list[str], env: dict[str, str], root: Path = REPO, **kwargs: Any) -> subprocess.Popen[Any]:
    """`root`'s deploy.py with `args` and `env` (in `root` unless `cwd` says), as subprocess.Popen([python,
    deploy.py, *args], **kwargs) would start it (stdin, stdout, stderr, text...): forked when a zygote can
    serve it."""
    kwargs.setdefault("cwd", root)
    forked = zygote(env, root, local="--local" in args)
    if forked is not None:
        return ForkedPopen(forked, args, env=env, **kwargs)
    return subprocess.Popen([sys.executable, str(root / "deploy.py"), *args], env=env, **kwargs)


def popen_moto_server(args: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """A stock `python -m moto.server` with `args` and this process's environment, as subprocess.Popen
    would start it: forked from the run's shared moto zygote when the controller started one (moto's
    modules imported, nothing changed: MOTO_PRELOAD), else by exec. Never a zygote of this process's own:
    the few servers a worker starts would not pay for its imports."""
    forked = zygote(dict(os.environ), REPO, kind="moto", shared_only=True)
    if forked is not None:
        return ForkedPopen(forked, args, service=("moto.server:main", "moto.server"), env=dict(os.environ), **kwargs)
    return subprocess.Popen([sys.executable, "-m", "moto.server", *args], **kwargs)


@contextlib.contextmanager
def stock_moto_server(*args: str) -> Iterator[int]:
    """A stock moto server (popen_moto_server) on a free port of 127.0.0.1, with `args` besides; its port,
    once it accepts connections. Stopped with SIGTERM afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = popen_moto_server(["-H", "127.0.0.1", "-p", str(port), *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline and proc.poll() is None, "moto.server did not start"
            time.sleep(0.1)  # how often the port is tried, not a guess at how long the start takes
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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


if __name__ == "__main__":  # zygote_support.py ROOT KIND CONTROL_FD [LISTENER_FD]
    fds = [socket.socket(fileno=int(fd)) for fd in sys.argv[3:]]
    serve(fds[0], fds[1] if len(fds) > 1 else None, Path(sys.argv[1]), sys.argv[2])
    _exit(0)  # as its runs end: the teardown of everything preloaded is time the run's end waits for
