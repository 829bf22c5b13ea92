"""A snapshot of everything a bad input must leave alone: the work tree and the emulator's state."""

from __future__ import annotations

import subprocess
from typing import Any

from deploy_support import REPO, Aws


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout


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
