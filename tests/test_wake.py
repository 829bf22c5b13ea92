"""`--wake SERVICE` against the emulator: a service its schedule put to zero gets its floor back now."""

from __future__ import annotations

import pytest
from deploy_support import Aws
from moto_state_support import stack_deployed

PREFIX = "layered-dev"


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in stderr, stderr
    return lines[0]


def sleeping_service(aws: Aws) -> tuple[str, str, str]:
    """Deploy everything, then do what the schedule's sleep action does: floor, ceiling and count to 0."""
    stack_deployed(aws, "all")
    arn = aws.client("cloudformation").describe_stack_resource(
        StackName=f"{PREFIX}-app-api", LogicalResourceId="Service")["StackResourceDetail"]["PhysicalResourceId"]
    cluster = f"{PREFIX}-cluster"
    resource_id = f"service/{cluster}/{arn.rsplit('/', 1)[-1]}"
    # The stack's ScalableTarget is a placeholder on the emulator: register the one AWS would hold.
    aws.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs", ResourceId=resource_id, ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=0, MaxCapacity=0)
    aws.client("ecs").update_service(cluster=cluster, service=arn, desiredCount=0)
    return cluster, arn, resource_id


def test_wake_sets_floor_and_desired_count_until_the_next_sleep(aws: Aws) -> None:
    cluster, arn, resource_id = sleeping_service(aws)
    done = aws.deploy("--wake", "app-api")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "woke app-api: 1 task(s), scaling 1..4, until the schedule's next sleep," in done.stdout
    assert "Europe/Berlin" in done.stdout
    target = aws.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[resource_id])["ScalableTargets"][0]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    service = aws.client("ecs").describe_services(cluster=cluster, services=[arn])["services"][0]
    assert service["desiredCount"] == 1
    status = aws.deploy("--status")
    assert status.returncode == 0 and "schedule: services a" in status.stdout  # awake or asleep: the clock decides
    assert "wakes" in status.stdout or "sleeps" in status.stdout


@pytest.mark.parametrize(("args", "expected"), [
    (["--wake", "nope"], "error: --wake nope: no such service (expected one of: app-api, inference-api)"),
    (["--wake", "app-api"], "error: --wake app-api: stack layered-dev-app-api or its cluster is not deployed"),
    (["--wake", "app-api", "--yes"], "error: --yes only goes with"),
])
def test_wake_mistakes_are_one_line_exit_2(aws: Aws, args: list[str], expected: str) -> None:
    done = aws.deploy(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert one_error_line(done.stderr).startswith(expected)
    assert aws.stacks() == {}
