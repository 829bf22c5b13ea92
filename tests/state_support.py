"""A snapshot of everything a bad input must leave alone: the work tree and the emulator's state."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from deploy_support import REPO, Aws


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout


def tree_digest(root: Path = REPO, parts: tuple[str, ...] = ("templates", "build")) -> str:
    """Every file under `parts` of `root` (default templates/ and build/), names and bytes."""
    h = hashlib.sha256()
    for base in (root / part for part in parts):
        for p in sorted(base.rglob("*")) if base.exists() else []:
            h.update(str(p.relative_to(root)).encode())
            if p.is_file():
                h.update(p.read_bytes())
    return h.hexdigest()


def source_copy(dest: Path) -> Path:
    """The project's tracked files (tests aside) copied to `dest`, byte-compiled once.

    A refused command runs from such a copy, so "it wrote nothing" is checked over the whole copy
    (every file, tracked or not) while other workers' deploys keep writing the real build/: no test
    has to stop the others to look at a still tree. Compiled here so the interpreter's own
    __pycache__ writes happen before the first snapshot, not during a checked command."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split("\0")
    for name in files:
        if name and not name.startswith("tests/") and (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(dest / "deploy.py"), str(dest / "deployer"),
                    str(dest / "generators")], check=True, capture_output=True)
    return dest


def refused_still(source: Path, *args: str, timeout: int = 60,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """deploy.py of the copy `source` with `args`; asserts every file of the copy is unchanged after it."""
    from zygote_support import run_deploy, zygote  # a real deploy.py process, forked pre-imported

    env = dict(os.environ) if env is None else env
    forked = zygote(env, source, local="--local" in args)
    if forked is not None:
        forked.wait_ready()  # its imports are done before the snapshot, not during the checked command
    before = tree_digest(source, (".",))
    proc = run_deploy(list(args), env, timeout, root=source)
    assert tree_digest(source, (".",)) == before, f"{args} changed files of the project: {proc.stderr}"
    return proc


def refused_synth(tmp_path: Path, source: Path, text: str, *args: str) -> str:
    """`deploy.py --synth` on a configuration with one mistake, refused as every bad input must be:
    exit 2, one line on stderr naming platform.toml, nothing on stdout, no traceback, every file of
    the project (a copy, see source_copy) and tmp_path untouched. Returns the line for the caller's
    check of its words. Used through the `refused_synth` fixture (tests/conftest.py)."""
    config = tmp_path / "platform.toml"
    config.write_text(text)
    proc = refused_still(source, "--config", str(config), "--synth", *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: platform.toml: "), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == "", proc.stderr
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
