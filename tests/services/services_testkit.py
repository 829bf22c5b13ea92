"""Helpers shared by the service tests: paths, processes, HTTP polling, AWS event-stream bytes.

Not a test module (no test_ prefix) and uniquely named, so it cannot collide with the rest of tests/.
"""

from __future__ import annotations

import binascii
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service_kit.authconfig import AuthSettings

REPO = Path(__file__).resolve().parents[2]
# Where sign-in is not the point: settings built in code, and the environment of a started service.
OPEN = AuthSettings(disabled=True)
NO_AUTH = {"AUTH_DISABLED": "1"}
SERVICES = REPO / "services"


@dataclass(frozen=True)
class Service:
    """What the tests need to know about one service: where it is and how it is reached."""

    name: str  # distribution name and console script
    package: str
    health_path: str

    @property
    def directory(self) -> Path:
        return SERVICES / self.name

    @property
    def ready_path(self) -> str:
        """200 once the app is built and started: inference-api answers `health_path` before that
        (service_kit.early), so a test that times its requests waits for this one."""
        return f"{self.health_path}/ready"


APP_API = Service("app-api", "app_api", "/health")
INFERENCE_API = Service("inference-api", "inference_api", "/inference/health")
ALL_SERVICES = (APP_API, INFERENCE_API)

# The package both services depend on by name (services/service-kit); never published to an index.
KIT_NAME = "service-kit"
KIT_PACKAGE = "service_kit"
KIT_DIR = SERVICES / KIT_NAME


@dataclass(frozen=True)
class Wheelhouse:
    """Wheels built once per run: `local` holds the kit's and the services' own, `deps` the rest.

    Keeping them apart lets a replayed Dockerfile prove it brings the kit itself: with `deps`
    alone, `service-kit` can only come from the directory the Dockerfile copied. `cache` is uv's
    cache for installs from here (uv unpacks each wheel once, then links its files).
    """

    local: Path
    deps: Path
    cache: Path

    def wheel(self, package: str) -> Path:
        [found] = self.local.glob(f"{package}-*.whl")
        return found


def bin_dir() -> Path:
    """The running virtual environment's bin/, where pip, hadolint and the console scripts live."""
    return Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(cmd: list[str], timeout: float = 600, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, raise with its output so the test report shows why."""
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        raise AssertionError(f"{cmd} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def discard(*paths: Path) -> None:
    """A passed test's virtual environments, removed as it ends: pytest would otherwise delete them (some
    18,000 files per run) three runs later, in one go, after the last test of that run."""
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def fresh_venv(path: Path) -> Path:
    """A virtual environment with nothing in it, not even pip (the caller's pip installs into it)."""
    run([sys.executable, "-m", "venv", "--without-pip", str(path)])
    return path / "bin" / "python"


def install_offline(python: Path, wheelhouse: Path, *wheels: Path, cache: Path) -> None:
    """Install wheels and their dependencies into python's environment from the wheelhouse alone.

    uv, not pip: the same resolution from the same files, in about a second where pip took 20 s
    (the image build's own pip command is replayed by test_service_images_dockerfiles.py)."""
    run([str(bin_dir() / "uv"), "pip", "install", "--quiet", "--python", str(python), "--offline", "--no-index",
         "--find-links", str(wheelhouse), "--cache-dir", str(cache), *map(str, wheels)])


def copy_tree(src: Path, dest: Path) -> None:
    """Copy a source tree the way the images' Dockerfile.dockerignore files filter it."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))


def offline_env(*wheelhouses: Path) -> dict[str, str]:
    """pip resolves from the session's wheelhouses only, so installs take seconds, not downloads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {
        **env,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": " ".join(str(house) for house in wheelhouses),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def http_get(url: str, timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def wait_for_http(url: str, process: Any, deadline_s: float = 30) -> bytes:
    """Poll until the URL answers 200; fail early, with the logs, if the process dies first."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"exited {process.returncode} before serving\n{out}\n{err}")
        try:
            status, _, body = http_get(url, timeout=1)
            if status == 200:
                return body
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {deadline_s} s")


def stop(process: Any, timeout: float = 25) -> tuple[int, str, str]:
    """SIGTERM as ECS sends it; return exit status and output."""
    process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"still running {timeout} s after SIGTERM\n{out}\n{err}") from None
    return process.returncode, out, err


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line must be one JSON object: that is the log contract."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# --- AWS event-stream framing (application/vnd.amazon.eventstream), as Bedrock sends it ---------


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    # name length (1 byte), name, type 7 = string, value length (2 bytes), value
    return struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!BH", 7, len(raw_value)) + raw_value


def event_message(headers: dict[str, str], payload: dict[str, Any]) -> bytes:
    """One frame: prelude (total length, headers length, CRC), headers, payload, message CRC."""
    head = b"".join(_header(k, v) for k, v in headers.items())
    body = json.dumps(payload).encode()
    total = 12 + len(head) + len(body) + 4
    prelude = struct.pack("!II", total, len(head))
    prelude += struct.pack("!I", binascii.crc32(prelude))
    frame = prelude + head + body
    return frame + struct.pack("!I", binascii.crc32(frame))


def stream_event(event_type: str, payload: dict[str, Any]) -> bytes:
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return event_message(headers, payload)


def stream_exception(exception_type: str, message: str) -> bytes:
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return event_message(headers, {"message": message})


class RawEventStream:
    """Stands where urllib3's response would: botocore reads an event stream through .stream().

    `fail_with` is raised after the frames, as a connection dropping mid-stream would.
    """

    def __init__(self, frames: list[bytes], fail_with: BaseException | None = None) -> None:
        self._frames = frames
        self._fail_with = fail_with
        self.closed = False

    def stream(self, amt: int | None = None, decode_content: bool | None = None) -> Any:
        yield from self._frames
        if self._fail_with is not None:
            raise self._fail_with

    def close(self) -> None:
        self.closed = True
