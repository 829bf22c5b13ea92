#!/usr/bin/env python3
"""Health-check throughput of each service, and the size of what its image would carry.

Each service is installed with service-kit, from their directories, into a fresh virtual
environment (what the image's builder stage does), started with one uvicorn worker on
127.0.0.1, and its health path is loaded with wrk over loopback for a bounded time. Prints
requests/s and p99 latency against the target (>= 3000 requests/s, p99 <= 10 ms on a 2-core
machine) and the installed site-packages size, the image-size estimate. Run from the repository root:

    .venv/bin/python bench/bench_health.py [--duration 10] [--connections 32] [--service app-api]
    .venv/bin/python bench/bench_health.py --baseline REF [--rounds 3]   # A/B against REF's services

With --baseline, both versions run side by side (two servers, one worker each) and are loaded in
alternating rounds, so a busy machine slows both alike; medians per version are printed.

Without wrk (`apt-get install -y wrk`) a small Python load generator stands in; it is
loader-bound, so its figures understate the service.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {"app-api": "/health", "inference-api": "/inference/health"}
TARGET_RPS = 3000
TARGET_P99_MS = 10.0
MAX_DURATION_S = 60  # the load is bounded whatever the arguments say
MAX_CONNECTIONS = 256


@dataclass(frozen=True)
class Result:
    tool: str
    requests_per_s: float
    p99_ms: float
    requests: int
    errors: int


def install(service: str, work: Path, root: Path = ROOT) -> Path:
    """Copy the service and service-kit sources (the build leaves nothing in the work tree) and
    install both with one pip command, as the image's builder does: the kit's directory is what
    meets the service's `service-kit` requirement."""
    sources = []
    for name in ("service-kit", service):
        sources.append(work / "source" / name)
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
        shutil.copytree(root / "services" / name, sources[-1], ignore=ignore)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = Path(sys.executable).parent / "pip"
    subprocess.run(
        [str(pip), "--python", str(venv / "bin" / "python"), "install", "--quiet", *map(str, sources)], check=True
    )
    return venv


def site_packages_mib(venv: Path) -> float:
    [site] = venv.glob("lib/python3*/site-packages")
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    return size / 2**20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(venv: Path, service: str, port: int, url: str) -> subprocess.Popen[bytes]:
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOST": "127.0.0.1", "PORT": str(port), "IMAGE_TAG": "bench"}
    # /health never needs sign-in; the services refuse to start without an issuer unless told
    # explicitly. What sign-in costs a request is bench_auth.py's measure.
    env["AUTH_DISABLED"] = "1"
    # The access log stays on (it is part of every request's cost); its lines go nowhere.
    process = subprocess.Popen([str(venv / "bin" / service)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{service} did not answer {url} within 30 s (exit status {process.poll()})")


def run_wrk(url: str, duration: int, connections: int) -> Result:
    subprocess.run(["wrk", "-t1", "-c8", "-d2s", url], check=True, capture_output=True)  # warm-up
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
        timeout=duration + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99[2]]  # type: ignore[index]
    total = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Result("wrk", rps, float(p99[1]) * scale, total, int(errors[1]) if errors else 0)  # type: ignore[index]


def run_python_load(url: str, duration: int, connections: int) -> Result:
    """Keep-alive GETs from threads; bounded by duration. Measures the loader as much as the service."""
    host, port, path = re.match(r"http://([^:/]+):(\d+)(/.*)", url).groups()  # type: ignore[union-attr]
    latencies: list[float] = []
    errors = [0]
    stop_at = time.monotonic() + duration

    def worker() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        while time.monotonic() < stop_at:
            began = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - began)
            errors[0] += response.status != 200
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(min(connections, 8))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    return Result("python (fallback)", len(latencies) / duration, p99, len(latencies), errors[0])


def bench(service: str, duration: int, connections: int) -> bool:
    with tempfile.TemporaryDirectory(prefix=f"bench-{service}-") as tmp:
        venv = install(service, Path(tmp))
        port = free_port()
        url = f"http://127.0.0.1:{port}{SERVICES[service]}"
        process = start(venv, service, port, url)
        try:
            load = run_wrk if shutil.which("wrk") else run_python_load
            result = load(url, duration, connections)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        size = site_packages_mib(venv)
    ok = result.requests_per_s >= TARGET_RPS and result.p99_ms <= TARGET_P99_MS and result.errors == 0
    print(
        f"{service:14} GET {SERVICES[service]:18} {result.requests_per_s:9,.0f} req/s  p99 {result.p99_ms:6.2f} ms  "
        f"({result.requests:,} requests, {result.errors} errors, {result.tool})  "
        f"site-packages {size:5.1f} MiB  {'OK' if ok else 'MISSED'}"
    )
    return ok


def export(ref: str, into: Path) -> Path:
    """The services/ folder as commit `ref` has it (git archive: no work tree is touched)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref, "services"], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def bench_ab(service: str, duration: int, connections: int, ref: str, rounds: int) -> None:
    """This tree's service against `ref`'s, loaded in alternating rounds (order flipped each round)."""
    load = run_wrk if shutil.which("wrk") else run_python_load
    with tempfile.TemporaryDirectory(prefix=f"bench-ab-{service}-") as tmp:
        roots = {"this tree": ROOT, ref: export(ref, Path(tmp) / "baseline")}
        servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
        try:
            for label, root in roots.items():
                venv, port = install(service, Path(tmp) / f"work-{len(servers)}", root), free_port()
                url = f"http://127.0.0.1:{port}{SERVICES[service]}"
                servers[label] = (start(venv, service, port, url), url)
            results: dict[str, list[Result]] = {label: [] for label in servers}
            for i in range(rounds):
                for label in (list(servers) if i % 2 == 0 else list(reversed(servers))):
                    results[label].append(load(servers[label][1], duration, connections))
        finally:
            for process, _ in servers.values():
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
    for label, runs in results.items():
        rps = [r.requests_per_s for r in runs]
        p99 = [r.p99_ms for r in runs]
        print(f"{service:14} {label:12} median {statistics.median(rps):7,.0f} req/s (rounds: "
              f"{', '.join(f'{x:,.0f}' for x in rps)})  p99 median {statistics.median(p99):6.2f} ms  "
              f"errors {sum(r.errors for r in runs)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", choices=[*SERVICES, "all"], default="all")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per service (max 60)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (max 256)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--baseline", metavar="REF", help="A/B: also run REF's services, alternating rounds")
    parser.add_argument("--rounds", type=int, default=3, help="with --baseline: rounds per version (max 9)")
    args = parser.parse_args()
    duration = max(1, min(args.duration, MAX_DURATION_S))
    connections = max(1, min(args.connections, MAX_CONNECTIONS))
    if not shutil.which("wrk"):
        print(
            "wrk is not installed (apt-get install -y wrk); using the Python fallback load generator, "
            "which is loader-bound: its figures understate the service."
        )
    print(
        f"target: >= {TARGET_RPS} req/s, p99 <= {TARGET_P99_MS} ms; one uvicorn worker; {os.cpu_count()} cores; "
        f"{duration} s x {connections} connections over loopback"
    )
    services = list(SERVICES) if args.service == "all" else [args.service]
    if args.baseline:
        for service in services:
            bench_ab(service, duration, connections, args.baseline, max(1, min(args.rounds, 9)))
        return 0
    results = [bench(service, duration, connections) for service in services]
    return 1 if args.check and not all(results) else 0


if __name__ == "__main__":
    sys.exit(main())
