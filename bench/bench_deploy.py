#!/usr/bin/env python3
"""Deploy benchmark on the embedded emulator (moto), compared with `aws cloudformation deploy`.

  .venv/bin/python bench/bench_deploy.py [--repeat N]

Figures (medians of N runs):
  1. `deploy.py --local --stack all --yes` as a whole process, from empty (target <= 5 s);
  2. `deploy.py --stack all --yes` against one running emulator: from empty, then a no-change
     rerun (target <= 2 s), each as a whole process;
  3. API calls per stack deployed, counted with a botocore before-call hook (in-process run);
  4. awscli's `aws cloudformation deploy`, one template after another, same emulator, same order;
  5. the property-level review's cost, before and after in the same run (`--review-only` runs just
     this): a no-change rerun of all stacks (budget: at most 20 % slower) and a --plan of one cpu
     change, each as a whole process, alternating runs with the review off and on. "Off" is the
     bench-only switch PLATFORM_BENCH_NO_PROPERTY_VALUES=1 (describe without IncludePropertyValues,
     no template diff): it isolates exactly the review's calls, where an older checkout would also
     differ in everything merged since (other templates would not even be a no-change rerun).
A figure, not a timed test: nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def contract_order() -> list[str]:
    """The dev stacks in the order their SSM contract implies (awscli below deploys one at a time)."""
    import json

    from generators.contract import build_contract, launch_order

    templates = {p.stem: json.loads(p.read_text()) for p in sorted((REPO / "templates" / "dev").glob("*.json"))}
    return [stack for batch in launch_order(build_contract(templates)) for stack in batch]


STACKS = contract_order()
PREFIX = "layered-dev"


def env_for(url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_EC2_METADATA_DISABLED="true", PYTHONWARNINGS="ignore")
    if url:
        env["AWS_ENDPOINT_URL"] = url
    return env


def timed(cmd: list[str], env: dict[str, str], ok_if: str = "\0", codes: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in codes and ok_if not in done.stderr:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


def reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).read()


def deploy_cmd(*args: str) -> list[str]:
    return [sys.executable, str(REPO / "deploy.py"), *args]


def counted(argv: list[str], env: dict[str, str], expect: int) -> Counter[str]:
    """API calls of one in-process deploy.py run, by operation."""
    import deploy
    from deployer.aws import runner

    calls: Counter[str] = Counter()

    def hook(event_name: str, **_: Any) -> None:
        calls[event_name.split(".", 1)[1]] += 1

    runner.CALL_HOOKS.append(hook)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = deploy.main(argv)
        assert code == expect, code
    finally:
        runner.CALL_HOOKS.remove(hook)
        os.environ.clear()
        os.environ.update(saved)
    return calls


def count_calls(url: str) -> tuple[Counter[str], Counter[str]]:
    """API calls of one in-process run from empty and one no-change rerun, by operation."""
    import deploy
    from deployer.aws import runner

    counters: list[Counter[str]] = [Counter(), Counter()]
    current: list[Counter[str]] = [counters[0]]

    def hook(event_name: str, **_: Any) -> None:
        current[0][event_name.split(".", 1)[1]] += 1

    runner.CALL_HOOKS.append(hook)
    os.environ.update(env_for(url))
    reset(url)
    try:
        for i in range(2):
            current[0] = counters[i]
            with contextlib.redirect_stdout(io.StringIO()):
                code = deploy.main(["--stack", "all", "--yes"])
            assert code == 0, code
    finally:
        runner.CALL_HOOKS.remove(hook)
    return counters[0], counters[1]


def awscli_deploy(url: str) -> float:
    """The same templates through `aws cloudformation deploy`, one after another."""
    import boto3

    env, aws = env_for(url), [sys.executable, "-m", "awscli"]
    start = time.perf_counter()
    for stack in STACKS:
        if stack == "app-api":  # what our --local does after the registry: images and tags
            _placeholder_tags(boto3, url)
        timed([*aws, "cloudformation", "deploy", "--template-file", f"templates/dev/{stack}.json",
               "--stack-name", f"{PREFIX}-{stack}", "--capabilities", "CAPABILITY_NAMED_IAM",
               "--no-fail-on-empty-changeset"], env,
              # moto answers an unchanged template that awscli sends with its parameters by a
              # ValidationError instead of an empty change set, which awscli does not expect.
              ok_if="No updates are to be performed")
    return time.perf_counter() - start


def _placeholder_tags(boto3: Any, url: str) -> None:
    from deployer.aws.storage import image_exists, put_parameter, put_placeholder_image
    from deployer.emulator.local import PLACEHOLDER_TAG

    kw = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "testing",
          "aws_secret_access_key": "testing"}
    ecr, ssm = boto3.client("ecr", **kw), boto3.client("ssm", **kw)
    for service in ("app-api", "inference-api"):
        if not image_exists(ecr, f"{PREFIX}/{service}", PLACEHOLDER_TAG):
            put_placeholder_image(ecr, f"{PREFIX}/{service}", PLACEHOLDER_TAG)
        put_parameter(ssm, f"/{PREFIX}/{service}/image-tag", PLACEHOLDER_TAG)


def median(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} s (runs: {', '.join(f'{x:.2f}' for x in xs)})"


def review_overhead(url: str, repeat: int) -> list[str]:
    """Review off (the bench switch) and on, alternating, on the same deployed stacks."""
    import tempfile

    from deployer.aws.runner import BENCH_SWITCH

    off, on = {**env_for(url), BENCH_SWITCH: "1"}, env_for(url)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "platform.toml"
        cfg.write_text((REPO / "platform.toml").read_text(encoding="utf-8").replace(
            "cpu = 256\nmemory = 512", "cpu = 512\nmemory = 1024", 1), encoding="utf-8")
        # An overridden prefix keeps the changed templates in the git-ignored build folder.
        plan = deploy_cmd("--config", str(cfg), "--prefix", "bench-review", "--stack", "app-api", "--plan")
        reset(url)
        timed(deploy_cmd("--stack", "all", "--yes"), on)
        timed(deploy_cmd("--prefix", "bench-review", "--stack", "all", "--yes"), on)
        figures: dict[str, list[float]] = {k: [] for k in ("rerun off", "rerun on", "plan off", "plan on")}
        for _ in range(repeat):
            figures["rerun off"].append(timed(deploy_cmd("--stack", "all", "--yes"), off))
            figures["rerun on"].append(timed(deploy_cmd("--stack", "all", "--yes"), on))
            figures["plan off"].append(timed(plan, off, codes=(3,)))
            figures["plan on"].append(timed(plan, on, codes=(3,)))
        argv = plan[2:]
        calls = {k: sum(counted(argv, env, 3).values()) for k, env in (("off", off), ("on", on))}
        rerun_argv = ["--stack", "all", "--yes"]
        reruns = {k: sum(counted(rerun_argv, env, 0).values()) for k, env in (("off", off), ("on", on))}
    rerun = statistics.median(figures["rerun on"]) / statistics.median(figures["rerun off"]) - 1
    planned = statistics.median(figures["plan on"]) / statistics.median(figures["plan off"]) - 1
    return [
        f"no-change rerun of all stacks, review off (before):               {median(figures['rerun off'])}",
        f"no-change rerun of all stacks, review on (after):                 {median(figures['rerun on'])}"
        f"  -> {rerun:+.1%} (budget +20 %)",
        f"--plan of one cpu change (app-api), review off (before):          {median(figures['plan off'])}",
        f"--plan of one cpu change (app-api), review on (after):            {median(figures['plan on'])}"
        f"  -> {planned:+.1%}",
        f"API calls, no-change rerun of all stacks: review off {reruns['off']}, on {reruns['on']}; "
        f"--plan of one cpu change: off {calls['off']}, on {calls['on']}",
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--review-only", action="store_true", help="only figure 5 (the review's cost)")
    args = p.parse_args()
    repeat = args.repeat
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    if args.review_only:
        from deployer.emulator.layer import server_url, start_server

        server = start_server()
        lines = review_overhead(server_url(server), max(repeat, 5))
        server.stop()
        print("\n".join(lines))
        return 0
    local = [timed(deploy_cmd("--local", "--stack", "all", "--yes"), env_for(None)) for _ in range(repeat)]
    from deployer.emulator.layer import server_url, start_server

    server = start_server()
    url = server_url(server)
    empty, rerun, cli_empty, cli_rerun = [], [], [], []
    for _ in range(repeat):
        reset(url)
        empty.append(timed(deploy_cmd("--stack", "all", "--yes"), env_for(url)))
        rerun.append(timed(deploy_cmd("--stack", "all", "--yes"), env_for(url)))
        reset(url)
        cli_empty.append(awscli_deploy(url))
        cli_rerun.append(awscli_deploy(url))
    first, second = count_calls(url)
    review = review_overhead(url, max(repeat, 5))
    server.stop()
    print(f"deploy.py --local --stack all --yes (whole process, from empty):  {median(local)}")
    print(f"deploy.py --stack all --yes, from empty (whole process):           {median(empty)}")
    print(f"deploy.py --stack all --yes, no-change rerun (whole process):      {median(rerun)}")
    print(f"aws cloudformation deploy x{len(STACKS)}, from empty (sequential):          {median(cli_empty)}")
    print(f"aws cloudformation deploy x{len(STACKS)}, no-change rerun (sequential):     {median(cli_rerun)}")
    for label, calls in (("from empty", first), ("no-change rerun", second)):
        total = sum(calls.values())
        print(f"API calls, {label}: {total} total, {total / len(STACKS):.1f} per stack — "
              + ", ".join(f"{op} {n}" for op, n in sorted(calls.items())))
    print("\n".join(review))
    return 0


if __name__ == "__main__":
    sys.exit(main())
