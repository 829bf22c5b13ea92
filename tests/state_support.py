"""A snapshot of everything a bad input must leave alone: the work tree and the emulator's state."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

from deploy_support import REPO, Aws


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout


def tree_digest() -> str:
    """Every file under templates/ and build/, names and bytes: a refused command writes neither."""
    h = hashlib.sha256()
    for base in (REPO / "templates", REPO / "build"):
        for p in sorted(base.rglob("*")) if base.exists() else []:
            h.update(str(p).encode())
            if p.is_file():
                h.update(p.read_bytes())
    return h.hexdigest()


def refused_synth(tmp_path: Path, text: str, *args: str) -> str:
    """`deploy.py --synth` on a configuration with one mistake, refused as every bad input must be:
    exit 2, one line on stderr naming platform.toml, nothing on stdout, no traceback, templates/,
    build/, the git tree and tmp_path untouched. Returns the line for the caller's check of its words.
    Used through the `refused_synth` fixture, which takes the whole-tree lock (tests/conftest.py)."""
    config = tmp_path / "platform.toml"
    config.write_text(text)
    before, status = tree_digest(), git_status()
    proc = subprocess.run([sys.executable, str(REPO / "deploy.py"), "--config", str(config), "--synth", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: platform.toml: "), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == "", proc.stderr
    assert tree_digest() == before and git_status() == status
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
