#!/usr/bin/env python3
"""Install time and size: the demo install (`make demo-setup`) and the test install (`make setup`
plus the checkov environment), each into fresh virtual environments in a temporary folder.

It runs the Makefile's own targets with VENV/CHECKOV_VENV pointed at the temporary folder, so it
measures exactly what a user (and CI) runs. Targets (issue 13): demo <= 45 s with a warm package
cache and a virtual environment <= 200 MB. pip installs only uv, and uv the rest; `--cold` gives
both empty caches of their own (every package downloaded again). Run from the repository root:
    .venv/bin/python bench/bench_install.py [--runs N] [--cold] [--only demo|test]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = os.environ.get("PYTHON", "python3")


def size_mb(path: Path) -> float:
    total = sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())
    return total / 1e6


def make(work: Path, *targets: str, cache: Path | None) -> float:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if cache:
        env["PIP_CACHE_DIR"], env["UV_CACHE_DIR"] = str(cache / "pip"), str(cache / "uv")
    args = ["make", "--no-print-directory", "-s", f"PYTHON={PYTHON}", f"VENV={work / 'venv'}",
            f"CHECKOV_VENV={work / 'venv-checkov'}", *targets]
    start = time.monotonic()
    subprocess.run(args, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def measure(kind: str, cold: bool) -> tuple[float, float]:
    """(seconds, MB of the venvs) for one fresh install of `kind`."""
    with tempfile.TemporaryDirectory(prefix=f"bench-install-{kind}-") as tmp:
        work = Path(tmp)
        cache = work / "caches" if cold else None
        if kind == "demo":
            seconds = make(work, f"{work / 'venv'}/.demo", cache=cache)
        else:
            seconds = make(work, f"{work / 'venv'}/.installed", f"{work / 'venv-checkov'}/.installed", cache=cache)
        venvs = [p for p in (work / "venv", work / "venv-checkov") if p.exists()]
        return seconds, sum(size_mb(p) for p in venvs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--cold", action="store_true", help="empty pip and uv caches for every run")
    parser.add_argument("--only", choices=["demo", "test"])
    args = parser.parse_args()
    cache = "cold (empty caches)" if args.cold else "warm caches"
    for kind in [args.only] if args.only else ["demo", "test"]:
        results = [measure(kind, args.cold) for _ in range(args.runs)]
        times = [r[0] for r in results]
        print(f"{kind:5} install, {cache}: median {statistics.median(times):6.1f} s "
              f"(runs: {', '.join(f'{t:.1f}' for t in times)}), venv {results[-1][1]:6.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
