"""--wait: a stack another deployment is changing is waited for, then deployed; without --wait
it is refused (tests/test_deploy_cli.py). The other deployment is played by a timer that moves
the in-process emulator's stack on."""

from __future__ import annotations

import threading
import time

import pytest
from deploy_support import Aws, set_status

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
    other = threading.Timer(1.5, set_status, (REGISTRY, settles_as))
    other.start()
    start = time.monotonic()
    done = aws.deploy("--stack", "registry", "--yes", "--wait")
    other.join()
    assert done.returncode == code, done.stdout + done.stderr
    assert time.monotonic() - start >= 1.5
    assert f"registry        is {running}: another deployment is running — waiting for it (--wait)" in done.stdout
    assert f"registry        settled: {settles_as}" in done.stdout
    assert expected in done.stdout + done.stderr


def test_without_wait_a_busy_stack_is_refused_and_wait_is_suggested(aws: Aws) -> None:
    assert aws.deploy("--stack", "registry", "--yes").returncode == 0
    set_status(REGISTRY, "UPDATE_IN_PROGRESS")
    done = aws.deploy("--stack", "registry", "--yes")
    assert done.returncode == 2 and "(or pass --wait)" in done.stderr
