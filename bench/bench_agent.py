"""The agent route against a local fake Bedrock endpoint: start-up, first byte, memory.

  python bench/bench_agent.py [--runs N] [--streams N] [--load N] [--baseline REF] [--startup-only]

Prints, for the inference-api console script (the container's CMD) on this machine:
- time from process start to the first 200 of /inference/health (budget 2 s), median and max
  of N starts, quiet and again with --load busy processes (default 2: both cores of these
  machines busy); with --baseline REF, the code of that commit (service-kit and inference-api
  sources, run from a `git archive` copy on PYTHONPATH) is started in the same run, alternately;
- time to the first text byte of POST /inference/agent and POST /inference/chat/stream, same
  process, same fake endpoint, a prompt with no tool call (budget: agent within 50 ms of chat);
- peak RSS of the process with N concurrent agent streams open (each held ~2 s by the fake).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "services"))

from http_fakes import end_event_stream, running_bedrock, send_frame, service_env, start_event_stream  # noqa: E402
from services_testkit import bin_dir, free_port, http_get, stop, stream_event  # noqa: E402

USAGE = {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8}


def slow_text(seconds: float):  # type: ignore[no-untyped-def]
    def script(fake, handler) -> None:  # type: ignore[no-untyped-def]
        start_event_stream(handler)
        send_frame(handler, stream_event("messageStart", {"role": "assistant"}))
        for word in ("one ", "two ", "three ", "four"):
            send_frame(handler, stream_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": word}}))
            time.sleep(seconds / 4)
        send_frame(handler, stream_event("contentBlockStop", {"contentBlockIndex": 0}))
        send_frame(handler, stream_event("messageStop", {"stopReason": "end_turn"}))
        send_frame(handler, stream_event("metadata", {"usage": USAGE, "metrics": {"latencyMs": 1}}))
        end_event_stream(handler)

    return script


def start(port: int, fake_url: str, pythonpath: str | None = None) -> tuple[subprocess.Popen[str], float]:
    env = service_env(port, AUTH_DISABLED="1", AWS_ENDPOINT_URL_BEDROCK_RUNTIME=fake_url, MAX_STREAMS_PER_USER="100",
                      AGENT_TOOLS="calculator,current_time")
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    began = time.monotonic()
    process = subprocess.Popen([str(bin_dir() / "inference-api")], env=env, text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            if http_get(f"http://127.0.0.1:{port}/inference/health", timeout=1)[0] == 200:
                return process, time.monotonic() - began
        except OSError:
            time.sleep(0.005)


@contextmanager
def busy(processes: int) -> Iterator[None]:
    """`processes` pure-CPU loops, so the service starts on a machine with its cores taken."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


@contextmanager
def baseline_sources(ref: str) -> Iterator[str]:
    """PYTHONPATH running `ref`'s service-kit and inference-api (before the installed tree's)."""
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "services/service-kit/src",
                                  "services/inference-api/src"], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        path = f"{tmp}/services/inference-api/src:{tmp}/services/service-kit/src"
        where = subprocess.run([sys.executable, "-c", "import inference_api; print(inference_api.__file__)"],
                               env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True, check=True)
        assert where.stdout.startswith(tmp), f"the baseline would not run its own code: {where.stdout}"
        yield path


def startups(fake_url: str, runs: int, versions: dict[str, str | None]) -> dict[str, list[float]]:
    """Seconds to the first /health 200 per version, the versions started in turn (same conditions)."""
    took: dict[str, list[float]] = {name: [] for name in versions}
    for _ in range(runs):
        for name, pythonpath in versions.items():
            process, seconds = start(free_port(), fake_url, pythonpath)
            took[name].append(seconds)
            stop(process)
    return took


def report_startups(label: str, took: dict[str, list[float]]) -> None:
    parts = [f"{name} median {statistics.median(v) * 1000:5.0f} ms max {max(v) * 1000:5.0f} ms"
             for name, v in took.items()]
    runs = len(next(iter(took.values())))
    print(f"health after start {label:<11} {' | '.join(parts)}  (budget 2000 ms; {runs} starts each)")


def first_text_byte(port: int, path: str, body: dict[str, object]) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    began = time.monotonic()
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = conn.getresponse()
    while line := response.readline():
        if line.startswith(b"event: delta"):
            elapsed = time.monotonic() - began
            response.read()
            conn.close()
            return elapsed
    raise RuntimeError(f"{path}: no text event ({response.status})")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--load", type=int, default=2, help="busy processes during the loaded start-ups")
    parser.add_argument("--baseline", help="a commit whose start-up is measured alongside (e.g. c47ec73)")
    parser.add_argument("--startup-only", action="store_true")
    args = parser.parse_args()
    with running_bedrock(slow_text(0.0)) as fast, running_bedrock(slow_text(2.0)) as slow:
        with contextlib.ExitStack() as stack:
            versions: dict[str, str | None] = {"this tree": None}
            if args.baseline:
                versions[args.baseline] = stack.enter_context(baseline_sources(args.baseline))
            report_startups("quiet", startups(fast.url, args.runs, versions))
            with busy(args.load):
                report_startups(f"load {args.load}", startups(fast.url, args.runs, versions))
        if not args.startup_only:
            first_bytes(fast.url, args.runs)
            memory(slow.url, args.streams)


def settled(port: int) -> None:
    """The app is built (health answers before that) and its background warm-up (the strands
    import and the model client, 1 s after readiness) has had time to finish."""
    while http_get(f"http://127.0.0.1:{port}/inference/health/ready", timeout=30)[0] != 200:
        time.sleep(0.05)
    time.sleep(3)


def first_bytes(fake_url: str, runs: int) -> None:
    port = free_port()
    process, _ = start(port, fake_url)
    settled(port)
    chat_body = {"messages": [{"role": "user", "content": "hi"}]}
    agent, chat = [], []
    for _ in range(runs * 4):
        chat.append(first_text_byte(port, "/inference/chat/stream", chat_body))
        agent.append(first_text_byte(port, "/inference/agent", {"prompt": "hi"}))
    stop(process)
    gap = (statistics.median(agent) - statistics.median(chat)) * 1000
    print(f"first text byte        chat {statistics.median(chat) * 1000:6.1f} ms  agent "
          f"{statistics.median(agent) * 1000:6.1f} ms  (agent - chat {gap:+.1f} ms, budget +50 ms; "
          f"median of {len(agent)})")


def memory(fake_url: str, streams: int) -> None:
    port = free_port()
    process, _ = start(port, fake_url)
    settled(port)
    warm = rss_mib(process.pid)
    peak = [warm]
    threads = [threading.Thread(target=first_text_byte, args=(port, "/inference/agent", {"prompt": "hi"}))
               for _ in range(streams)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        peak.append(rss_mib(process.pid))
        time.sleep(0.05)
    stop(process)
    print(f"RSS                    after warm-up {warm:6.1f} MiB  peak with {streams} concurrent agent "
          f"streams {max(peak):6.1f} MiB  (task memory 1024 MiB in dev)")


if __name__ == "__main__":
    main()
