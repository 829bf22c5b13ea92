#!/usr/bin/env python3
"""What sign-in costs per request with a cached JWKS, measured two ways in one run.

1. In process: TokenVerifier.verify() with the JWKS cached, for a token seen for the first
   time (signature and claims checked) and for one seen before (the verified-token cache),
   p50/p99 over many calls.
2. Over HTTP: app-api under uvicorn (one worker each) twice, with AUTH_DISABLED=1 and with a
   local issuer, the same write (DELETE of a missing item: a 404 after sign-in) sent on one
   keep-alive connection per server, in alternating batches so that machine load hits both
   alike; p50/p99 of each and the difference.

Target: verification adds <= 1 ms at p99. Run from the repository root:

    .venv/bin/python bench/bench_auth.py [--requests 3000] [--calls 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from service_kit.auth import TokenVerifier
from service_kit.authconfig import AuthSettings

TARGET_ADDED_P99_MS = 1.0
AUDIENCE = "bench-api"
PATH = "/api/items/999999"


def start_issuer(key: rsa.RSAPrivateKey) -> str:
    jwk = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "bench", "use": "sig", "alg": "RS256"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            doc = {"issuer": url, "jwks_uri": f"{url}/jwks"} if "well-known" in self.path else {"keys": [jwk]}
            data = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return url


def token_for(key: rsa.RSAPrivateKey, issuer: str, sub: str = "bench-user") -> str:
    claims = {"iss": issuer, "aud": AUDIENCE, "sub": sub, "exp": int(time.time()) + 3600}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "bench"})


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


def in_process(key: rsa.RSAPrivateKey, issuer: str, calls: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """(first sight of each token, repeated token) p50/p99 in ms, JWKS cached in both."""
    verifier = TokenVerifier(AuthSettings(issuer=issuer, audience=AUDIENCE))
    fresh = [token_for(key, issuer, f"user-{n}") for n in range(calls)]

    async def run() -> tuple[list[float], list[float]]:
        await verifier.verify(token_for(key, issuer))  # fills the key cache
        first, again = [], []
        for token in fresh:
            began = time.perf_counter()
            await verifier.verify(token)
            first.append(time.perf_counter() - began)
            began = time.perf_counter()
            await verifier.verify(token)
            again.append(time.perf_counter() - began)
        return first, again

    first, again = asyncio.run(run())
    return percentiles(first), percentiles(again)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    full = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(port), "IMAGE_TAG": "bench"}
    script = Path(sys.executable).parent / "app-api"
    process = subprocess.Popen([str(script)], env=full, stdout=subprocess.DEVNULL)
    _wait(f"http://127.0.0.1:{port}/health")
    return process, port


def batch(conn: http.client.HTTPConnection, headers: dict[str, str], n: int, into: list[float]) -> None:
    for _ in range(n):
        began = time.perf_counter()
        conn.request("DELETE", PATH, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 404:
            raise SystemExit(f"unexpected status {response.status}")
        into.append(time.perf_counter() - began)


def over_http(issuer: str, token: str, requests: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """(without sign-in, with a token) p50/p99 in ms, batches alternating between the two servers."""
    off_app = start_app({"AUTH_DISABLED": "1"})
    on_app = start_app({"AUTH_ISSUER": issuer, "AUTH_AUDIENCE": AUDIENCE})
    try:
        off = http.client.HTTPConnection("127.0.0.1", off_app[1], timeout=10)
        on = http.client.HTTPConnection("127.0.0.1", on_app[1], timeout=10)
        bearer = {"Authorization": f"Bearer {token}"}
        batch(off, {}, 300, [])  # warm-up
        batch(on, bearer, 300, [])
        off_samples: list[float] = []
        on_samples: list[float] = []
        for _ in range(max(1, requests // 100)):
            batch(off, {}, 100, off_samples)
            batch(on, bearer, 100, on_samples)
        return percentiles(off_samples), percentiles(on_samples)
    finally:
        for process, _ in (off_app, on_app):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within 30 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="sequential HTTP requests per variant")
    parser.add_argument("--calls", type=int, default=5000, help="in-process verify() calls (distinct tokens)")
    args = parser.parse_args()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = start_issuer(key)
    first, again = in_process(key, issuer, max(100, args.calls))
    print(f"verify(), JWKS cached, token seen first (RS256 check): p50 {first[0]:6.3f} ms  p99 {first[1]:6.3f} ms")
    print(f"verify(), JWKS cached, token seen before:               p50 {again[0]:6.3f} ms  p99 {again[1]:6.3f} ms")
    off, on = over_http(issuer, token_for(key, issuer), max(100, args.requests))
    print(f"HTTP DELETE {PATH}, AUTH_DISABLED=1:     p50 {off[0]:6.3f} ms  p99 {off[1]:6.3f} ms")
    print(f"HTTP DELETE {PATH}, with a bearer token: p50 {on[0]:6.3f} ms  p99 {on[1]:6.3f} ms")
    added = on[1] - off[1]
    verdict = "OK" if max(added, first[1]) <= TARGET_ADDED_P99_MS else "MISSED"
    print(
        f"added by sign-in over HTTP: p50 {on[0] - off[0]:+.3f} ms, p99 {added:+.3f} ms; "
        f"first-sight verify p99 {first[1]:.3f} ms (target <= {TARGET_ADDED_P99_MS} ms) {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
