"""Before anything is uploaded: the artifacts bucket, if this run needs it, must be the caller's own."""

from __future__ import annotations

from deployer.aws import artifacts, runner
from deployer.errors import UsageError
from deployer.planning.planner import TEMPLATE_BODY_LIMIT, Plan


def check_artifacts_bucket(clients: runner.Clients, plan: Plan, bucket: str, account: str) -> None:
    """Exit 2 before the first stack when a template must go through a bucket another account owns."""
    if not any(sp.size > TEMPLATE_BODY_LIMIT for sp in plan.stacks.values()):
        return
    if artifacts.bucket_state(clients.s3, bucket, account) == "foreign":
        raise UsageError(foreign_message(bucket, account))


def foreign_message(bucket: str, account: str) -> str:
    return (f"artifacts bucket {bucket} exists but is not owned by account {account}: nothing was uploaded "
            "— someone else holds the name; choose another prefix, or have its owner delete it")
