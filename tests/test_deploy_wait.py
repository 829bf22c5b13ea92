"""--wait: a stack another deployment is changing is waited for, then deployed; without --wait
it is refused (tests/test_deploy_cli.py). The other deployment is played by the test, which moves
the in-process emulator's stack on once deploy.py says it is waiting (no timer: load cannot race it)."""

from __future__ import annotations

import subprocess

import pytest
from deploy_support import Aws, set_status
from zygote_support import popen_deploy

REGISTRY = "layered-dev-registry"


@pytest.mark.parametrize("running, settles_as, code, expected", [
    ("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", 0, "no changes"),
    ("UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE", 0, "no changes"),
    ("UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED", 2, "continue-update-rollback --stack-name layered-dev-registry"),
])
def test_wait_for_a_stack_someone_else_is_changing(
    aws: Aws, running: str, settles_as: str, code: int, expected: str
) -> None:
    assert aws.deploy("--stack", "registry", "--yes").returncode == 0
    set_status(REGISTRY, running)
    proc = popen_deploy(["--stack", "registry", "--yes", "--wait"], aws.env, stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    lines = []
    for line in proc.stdout:  # the other deployment settles once deploy.py says it is waiting for it
        lines.append(line)
        if "waiting for it (--wait)" in line:
            set_status(REGISTRY, settles_as)
    done = subprocess.CompletedProcess(proc.args, proc.wait(timeout=60), "".join(lines), proc.stderr.read())
    assert done.returncode == code, done.stdout + done.stderr
    assert f"registry        is {running}: another deployment is running — waiting for it (--wait)" in done.stdout
    assert f"registry        settled: {settles_as}" in done.stdout
    assert expected in done.stdout + done.stderr


def test_without_wait_a_busy_stack_is_refused_and_wait_is_suggested(aws: Aws) -> None:
    assert aws.deploy("--stack", "registry", "--yes").returncode == 0
    set_status(REGISTRY, "UPDATE_IN_PROGRESS")
    done = aws.deploy("--stack", "registry", "--yes")
    assert done.returncode == 2 and "(or pass --wait)" in done.stderr
