"""How long deploy.py takes to name an endpoint that will not serve it.

  python bench/bench_endpoints.py [--runs N]

A silent endpoint accepts TCP connections and never answers a byte; an unreachable one is a
closed local port. Prints the median wall time of `deploy.py --status` (whole process) for each,
and the line it printed. Budgets (issue 9): silent <= 30 s, unreachable <= 10 s.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def silent_server() -> tuple[str, socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(server.accept()[0]) for _ in iter(int, 1)], daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}", server


def closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def timed(url: str) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
    start = time.monotonic()
    done = subprocess.run([sys.executable, str(REPO / "deploy.py"), "--status"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    return time.monotonic() - start, done.stderr.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    silent, _server = silent_server()
    for label, url, budget in (("silent endpoint", silent, 30), ("unreachable endpoint", closed_url(), 10)):
        results = [timed(url) for _ in range(runs)]
        median = statistics.median(t for t, _ in results)
        print(f"{label:<22} median {median:5.1f} s over {runs} runs (budget {budget} s)  "
              f"max {max(t for t, _ in results):5.1f} s")
        print(f"  {results[0][1]}")


if __name__ == "__main__":
    main()
