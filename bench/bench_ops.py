#!/usr/bin/env python3
"""Day-two benchmark on the emulator (moto's server in this process, deploy.py as a whole process).

  .venv/bin/python bench/bench_ops.py [--repeat N] [--events N] [--baseline REF]

Figures (medians of N runs):
  1. `deploy.py --logs app-api --since 1h` over a window of 10,000 events: seconds until the first
     page is on stdout (target <= 2 s), and until the whole window is;
  2. `deploy.py --status` for every stack (all deployed, rollout/targets/alarms included; target <= 1.5 s).
--baseline REF also times REF's deploy.py (git archive of that commit) against the same emulator,
the two taking turns: a before/after from one run. A figure, not a timed test: nothing here fails
on a slow machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
GROUP = "/ecs/layered-dev/app-api"


def write_events(client: object, count: int) -> None:
    now = int(time.time() * 1000)
    # The service stack made the log group; the stream is what a task would create.
    client.create_log_stream(logGroupName=GROUP, logStreamName="app-api/app-api/bench")  # type: ignore[attr-defined]
    start = now - 50 * 60_000
    step = (now - start) // count
    events = [{"timestamp": start + i * step, "message": json.dumps({
        "level": "INFO", "message": f"GET /api/items/{i} 200", "request_id": f"r-{i:05d}", "status": 200,
        "duration_ms": 3.2})} for i in range(count)]
    for i in range(0, count, 5000):  # PutLogEvents: at most 10,000 events and 1 MB a call
        client.put_log_events(logGroupName=GROUP, logStreamName="app-api/app-api/bench",  # type: ignore[attr-defined]
                              logEvents=events[i:i + 5000])


def first_line_and_total(root: Path, env: dict[str, str], *args: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(root / "deploy.py"), *args], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    at_first = time.perf_counter() - started
    rest = proc.stdout.read()
    proc.wait()
    if proc.returncode != 0 or not first:
        raise SystemExit(f"{root / 'deploy.py'} {' '.join(args)} failed ({proc.returncode})")
    return at_first, time.perf_counter() - started, 1 + rest.count("\n")


def export(ref: str, into: Path) -> Path:
    """The whole tree as commit `ref` has it (git archive: no work tree is touched)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref], cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


LOGS = ("--logs", "app-api", "--since", "1h")


def measure(roots: dict[str, Path], env: dict[str, str], repeat: int) -> dict[str, dict[str, list[tuple]]]:
    """Each tree's --logs and --status, `repeat` times, the trees taking turns (the machine's load
    falls on both alike). One run of each first, not counted: a first run compiles the bytecode of
    everything it imports (0.5-2 s here), which a person's second run no longer pays."""
    for root in roots.values():
        first_line_and_total(root, env, "--logs", "app-api", "--since", "5m")
        first_line_and_total(root, env, "--status")
    found: dict[str, dict[str, list[tuple]]] = {label: {"logs": [], "status": []} for label in roots}
    for i in range(repeat):
        for label, root in (roots.items() if i % 2 == 0 else reversed(roots.items())):
            found[label]["logs"].append(first_line_and_total(root, env, *LOGS))
            found[label]["status"].append(first_line_and_total(root, env, "--status"))
    return found


def report(label: str, runs: dict[str, list[tuple]], events: int) -> None:
    logs, status = runs["logs"], runs["status"]
    print(f"{label}: --logs, {events} events in the window (median of {len(logs)}, whole process):")
    print(f"  first page on stdout  {statistics.median(r[0] for r in logs):.2f} s  (target <= 2 s)")
    print(f"  whole window          {statistics.median(r[1] for r in logs):.2f} s  ({logs[0][2]} lines)")
    print(f"{label}: --status, every stack (median of {len(status)}, whole process):")
    print(f"  complete              {statistics.median(r[1] for r in status):.2f} s  (target <= 1.5 s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--baseline", metavar="REF", help="A/B: also time REF's deploy.py, runs alternating")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from deploy_support import Aws, clean_env

    from deployer.emulator.layer import server_url, start_server

    server = start_server()
    with tempfile.TemporaryDirectory(prefix="bench-ops-") as tmp:
        roots = {"this tree": REPO}
        if args.baseline:
            roots[args.baseline] = export(args.baseline, Path(tmp) / "baseline")
        try:
            url = server_url(server)
            aws = Aws(url, clean_env(url))
            if aws.deploy("--stack", "all", "--yes").returncode != 0:
                raise SystemExit("deploying every stack on the emulator failed")
            write_events(aws.client("logs"), args.events)
            # PYTHONDONTWRITEBYTECODE (set in some sandboxes) would make every run compile all it
            # imports: the figures are for a usual machine.
            aws.env.pop("PYTHONDONTWRITEBYTECODE", None)
            found = measure(roots, aws.env, args.repeat)
        finally:
            server.stop()
    for label, runs in found.items():
        report(label, runs, args.events)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
