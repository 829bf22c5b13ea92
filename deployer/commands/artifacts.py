"""Before anything is uploaded: the artifacts bucket, if this run needs it, exists and is the caller's own.

Resolved in pre-flight, once per region that has a template over CloudFormation's body limit: the
account-regional name where S3 offers it, else (or where the endpoint refuses it) the global name with
its owner checked. A bucket of another account stops the run with one line, exit 2, nothing uploaded.
"""

from __future__ import annotations

from collections.abc import Iterable

from deployer.aws import artifacts, runner
from deployer.errors import UsageError
from deployer.planning.planner import TEMPLATE_BODY_LIMIT, StackPlan
from deployer.presentation.report import Reporter
from generators.naming import artifacts_bucket, regional_artifacts_bucket


def prepare_buckets(clients: runner.Clients, stacks: Iterable[StackPlan], prefix: str, account: str,
                    report: Reporter) -> dict[str, str]:
    """Region -> the artifacts bucket to upload to, for the regions whose templates need one."""
    regions = sorted({sp.region or clients.region for sp in stacks if sp.size > TEMPLATE_BODY_LIMIT})
    buckets: dict[str, str] = {}
    for region in regions:
        s3 = clients.for_region(region).s3
        regional = regional_artifacts_bucket(prefix, account, region)
        try:
            got = artifacts.ensure_bucket(s3, regional, artifacts_bucket(prefix, account, region), region, account)
        except artifacts.ForeignBucket as exc:
            raise UsageError(foreign_message(str(exc), account)) from None
        if got.created:
            report.line(f"created artifacts bucket {got.bucket} (encrypted, versioned, public access blocked, "
                        f"templates expire after {artifacts.ARTIFACTS_KEEP_DAYS} days)")
        for note in got.notes:
            report.line(note)
        buckets[region] = got.bucket
    return buckets


def foreign_message(bucket: str, account: str) -> str:
    return (f"artifacts bucket {bucket} exists but is not owned by account {account}: nothing was uploaded "
            "— someone else holds the name; choose another prefix, or have its owner delete it")
