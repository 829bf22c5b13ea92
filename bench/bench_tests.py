#!/usr/bin/env python3
"""How long the test suite takes, and where the time goes (issue 13: a quick, steady suite).

Runs the suite the way `make test` does (or with the pytest arguments given after `--`) and prints:
the wall time and result of each run; CPU seconds in total, in collection and per test file (CPU does
not grow when other work shares the machine, wall time does); how long each worker sat idle at the
end. `--load N` keeps N busy-looping processes running meanwhile (the "two busy cores" check);
`--runs K` repeats the run. Run from the repository root, after `make setup`:

    .venv/bin/python bench/bench_tests.py [--runs 3] [--load 2] [--top 25] [-- PYTEST ARGS]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The same command as the Makefile's test target (TEST_ARGS there), so the figures are make test's.
DEFAULT_ARGS = ["-n", str((os.cpu_count() or 1) + 2), "--dist", "worksteal"]


def spin() -> None:
    while True:
        pass


def run_suite(pytest_args: list[str], out: Path) -> tuple[float, int, str]:
    env = {**os.environ, "BENCH_TESTS_OUT": str(out), "PYTHONPATH": str(ROOT / "bench")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as `make test` runs it
    env.setdefault("CHECKOV_BIN", str(ROOT / ".venv-checkov" / "bin" / "checkov"))
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "pytest_cpu", "-q", *pytest_args], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines() or [""]
    failures = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    if failures:  # the tracebacks, kept: a failure under load may not come back when run again
        kept = ROOT / "build" / f"bench-tests-{time.strftime('%Y%m%dT%H%M%S')}.txt"
        kept.parent.mkdir(exist_ok=True)
        kept.write_text(proc.stdout + proc.stderr)
        failures.append(f"full output: {kept.relative_to(ROOT)}")
    return time.monotonic() - start, proc.returncode, "\n  ".join([lines[-1], *failures])


def records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in out.glob("*.jsonl") for line in path.read_text().splitlines()]


def report(rows: list[dict[str, Any]], top: int) -> None:
    tests = [r for r in rows if r["phase"] == "test"]
    collect = [r for r in rows if r["phase"] == "collect"]
    per_file: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for r in tests:
        entry = per_file[r["nodeid"].split("::")[0]]
        entry[0], entry[1], entry[2] = entry[0] + r["cpu"], entry[1] + r["wall"], entry[2] + 1
    parts = ", ".join(f"{k} {sum(r[k] for r in tests):.0f} s" for k in ("own", "children", "forked"))
    print(f"  CPU in tests: {sum(r['cpu'] for r in tests):.0f} s over {len(tests)} tests ({parts}); "
          "collection: " + ", ".join(f"{c['worker']} {c['cpu']:.1f} s CPU" for c in sorted(collect, key=str)))
    ends: dict[str, float] = defaultdict(float)
    for r in tests:
        ends[r["worker"]] = max(ends[r["worker"]], r["end"])
    if ends:
        last = max(ends.values())
        print("  idle at the end: " + ", ".join(f"{w} {last - e:.0f} s" for w, e in sorted(ends.items())))
    print(f"  {'CPU s':>7} {'wall s':>7} {'tests':>5}  file (top {top} by CPU)")
    for name, (cpu, wall, count) in sorted(per_file.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"  {cpu:7.1f} {wall:7.1f} {count:5d}  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--load", type=int, default=0, help="busy-looping processes to run meanwhile")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("pytest_args", nargs="*", help="after --: pytest arguments (default: make test's)")
    args = parser.parse_args()
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.load)]
    for p in spinners:
        p.start()
    failed = 0
    try:
        for n in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory() as tmp:
                wall, code, summary = run_suite(args.pytest_args or DEFAULT_ARGS, Path(tmp))
                print(f"run {n}/{args.runs}: {wall:.0f} s wall, exit {code}, load {args.load}: {summary}")
                report(records(Path(tmp)), args.top)
                failed += code != 0
    finally:
        for p in spinners:
            p.terminate()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
