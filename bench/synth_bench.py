#!/usr/bin/env python3
"""Synthesis speed and memory, for the whole `deploy.py --synth` process.

Prints the median wall time and peak RSS of N runs for the default configuration and for a
generated configuration with 50 services. Budgets (issue 2): default <= 0.3 s and <= 100 MiB;
50 services <= 2 s. Run from the repository root:  .venv/bin/python bench/synth_bench.py [-n RUNS]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(args: list[str]) -> tuple[float, float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "deploy.py", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"deploy.py {' '.join(args)} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    # CPU time (user + system) next to wall time: on a shared machine only the former is steady.
    return wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


def measure(label: str, args: list[str], runs: int, budget_s: float, budget_mib: float | None) -> bool:
    run_once(args)  # warm-up: bytecode compiled, files cached
    samples = [run_once(args) for _ in range(runs)]
    wall = statistics.median(s[0] for s in samples)
    peak = max(s[1] for s in samples)
    cpu = statistics.median(s[2] for s in samples)
    ok = wall <= budget_s and (budget_mib is None or peak <= budget_mib)
    mem_budget = f" (budget {budget_mib:.0f} MiB)" if budget_mib else ""
    print(f"{label:<28} median {wall:6.3f} s (budget {budget_s} s, cpu {cpu:5.3f} s)   "
          f"peak {peak:6.1f} MiB{mem_budget}   {'ok' if ok else 'OVER BUDGET'}")
    return ok


def fifty_services_config(path: Path) -> None:
    text = (ROOT / "platform.toml").read_text()
    base = text[: text.index("\n[[services]]")]
    # The example's per-environment sizing tables name its own services, which this config lacks.
    base = re.sub(r"\n\[environments\.[^]]+\.services\.[^]]+\]\n(?:[^[\n][^\n]*\n)*", "\n", base)
    blocks = [
        f'[[services]]\nname = "svc-{i:02d}"\nport = 8000\npath_patterns = ["/svc-{i:02d}/*"]\n'
        f'priority = {100 + i}\nhealth_check_path = "/svc-{i:02d}/health"\ncpu = 256\nmemory = 512\n'
        f"desired_count = 1\nmin_count = 1\nmax_count = 3\n"
        for i in range(50)
    ]
    path.write_text(base + "\n" + "\n".join(blocks))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", "--runs", type=int, default=7)
    runs = ap.parse_args().runs
    ok = measure("default config (5 stacks)", ["--synth"], runs, 0.3, 100)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "platform.toml"
        fifty_services_config(config)
        out = ROOT / "build" / "templates" / "dev" / "bench-fifty"
        try:
            ok &= measure("50 services (53 stacks)", ["--config", str(config), "--prefix", "bench-fifty", "--synth"],
                          runs, 2.0, None)
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
