"""The agent route against a local fake Bedrock endpoint: start-up, first byte, memory.

  python bench/bench_agent.py [--runs N] [--streams N]

Prints, for the inference-api console script (the container's CMD) on this machine:
- time from process start to the first 200 of /inference/health (budget 2 s), median of N;
- time to the first text byte of POST /inference/agent and POST /inference/chat/stream, same
  process, same fake endpoint, a prompt with no tool call (budget: agent within 50 ms of chat);
- peak RSS of the process with N concurrent agent streams open (each held ~2 s by the fake).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import threading
import time
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


def start(port: int, fake_url: str) -> tuple[subprocess.Popen[str], float]:
    env = service_env(port, AUTH_DISABLED="1", AWS_ENDPOINT_URL_BEDROCK_RUNTIME=fake_url, MAX_STREAMS_PER_USER="100",
                      AGENT_TOOLS="calculator,current_time")
    began = time.monotonic()
    process = subprocess.Popen([str(bin_dir() / "inference-api")], env=env, text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            if http_get(f"http://127.0.0.1:{port}/inference/health", timeout=1)[0] == 200:
                return process, time.monotonic() - began
        except OSError:
            time.sleep(0.005)


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
    args = parser.parse_args()
    with running_bedrock(slow_text(0.0)) as fast, running_bedrock(slow_text(2.0)) as slow:
        startups = []
        for _ in range(args.runs):
            process, took = start(free_port(), fast.url)
            startups.append(took)
            stop(process)
        print(f"health after start     median {statistics.median(startups) * 1000:6.0f} ms  "
              f"max {max(startups) * 1000:6.0f} ms over {args.runs} starts (budget 2000 ms)")
        port = free_port()
        process, _ = start(port, fast.url)
        time.sleep(2)  # the background warm-up (strands import, model client) is done by now
        chat_body = {"messages": [{"role": "user", "content": "hi"}]}
        agent, chat = [], []
        for _ in range(args.runs * 4):
            chat.append(first_text_byte(port, "/inference/chat/stream", chat_body))
            agent.append(first_text_byte(port, "/inference/agent", {"prompt": "hi"}))
        gap = (statistics.median(agent) - statistics.median(chat)) * 1000
        print(f"first text byte        chat {statistics.median(chat) * 1000:6.1f} ms  agent "
              f"{statistics.median(agent) * 1000:6.1f} ms  (agent - chat {gap:+.1f} ms, budget +50 ms; "
              f"median of {len(agent)})")
        idle = rss_mib(process.pid)
        stop(process)
        port = free_port()
        process, _ = start(port, slow.url)
        time.sleep(2)
        warm = rss_mib(process.pid)
        peak = [warm]
        threads = [threading.Thread(target=first_text_byte, args=(port, "/inference/agent", {"prompt": "hi"}))
                   for _ in range(args.streams)]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            peak.append(rss_mib(process.pid))
            time.sleep(0.05)
        stop(process)
        print(f"RSS                    after warm-up {warm:6.1f} MiB  peak with {args.streams} concurrent agent "
              f"streams {max(peak):6.1f} MiB  (after the TTFB runs: {idle:6.1f} MiB; task memory 1024 MiB in dev)")


if __name__ == "__main__":
    main()
