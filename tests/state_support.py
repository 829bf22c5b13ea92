"""A snapshot of everything a bad input must leave alone: the work tree and the emulator's state."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from deploy_support import REPO, Aws

WATCH = Path(__file__).resolve().parent / "write_watch.py"


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout


def watched_deploy(*args: str, env: dict[str, str] | None = None,
                   timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """`python deploy.py ARGS` run from the repository, and every file that process wrote (write_watch.py):
    the proof that a refused command wrote nothing, whatever other test workers write meanwhile."""
    with tempfile.TemporaryDirectory(prefix="write-watch-") as folder:
        report = Path(folder) / "written"
        proc = subprocess.run([sys.executable, str(WATCH), str(report), str(REPO / "deploy.py"), *args],
                              capture_output=True, text=True, cwd=REPO, env=env, timeout=timeout)
        written = report.read_text(encoding="utf-8").splitlines() if report.exists() else ["(no report)"]
    return proc, written


def refused_synth(tmp_path: Path, text: str, *args: str) -> str:
    """`deploy.py --synth` on a configuration with one mistake, refused as every bad input must be:
    exit 2, one line on stderr naming platform.toml, nothing on stdout, no traceback, templates/,
    build/, the git tree and tmp_path untouched (no file written at all). Returns the line for the
    caller's check of its words. Used through the `refused_synth` fixture."""
    config = tmp_path / "platform.toml"
    config.write_text(text)
    status = git_status()
    proc, written = watched_deploy("--config", str(config), "--synth", *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: platform.toml: "), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == "", proc.stderr
    assert written == [] and git_status() == status, written
    assert list(tmp_path.iterdir()) == [config]
    return lines[0]


def emulator_state(aws: Aws) -> dict[str, Any]:
    cf, ssm, s3 = aws.client("cloudformation"), aws.client("ssm"), aws.client("s3")
    stacks = {s["StackName"]: (s["StackStatus"], s.get("LastUpdatedTime"), s.get("EnableTerminationProtection"))
              for s in cf.describe_stacks()["Stacks"]}
    change_sets = sorted(c["ChangeSetId"] for name in stacks
                         for c in cf.list_change_sets(StackName=name)["Summaries"])
    params = {p["Name"]: p["Version"] for page in ssm.get_paginator("describe_parameters").paginate()
              for p in page["Parameters"]}
    buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    return {"stacks": stacks, "change_sets": change_sets, "parameters": params, "buckets": buckets}


def snapshot(aws: Aws) -> tuple[str, dict[str, Any]]:
    return git_status(), emulator_state(aws)
