"""Before anything is uploaded: the artifacts bucket, if this run needs it, exists and is the caller's own.

Resolved in pre-flight, once per region that has a template over CloudFormation's body limit: the
account-regional name where S3 offers it, else (or where the endpoint refuses it) the global name with
its owner checked. A bucket of another account stops the run with one line, exit 2, nothing uploaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from deployer.aws import artifacts, runner
from deployer.errors import UsageError
from deployer.planning.planner import TEMPLATE_BODY_LIMIT, StackPlan
from deployer.presentation.report import Reporter
from generators.naming import artifacts_bucket, regional_artifacts_bucket


def prepare_buckets(clients: runner.Clients, stacks: Iterable[StackPlan], prefix: str, account: str,
                    report: Reporter, create: bool = True) -> dict[str, str]:
    """Region -> the artifacts bucket to upload to, for the regions whose templates need one.
    create=False (--plan): only an existing bucket of the caller's own is used, made and hardened by a deploy."""
    regions = sorted({sp.region or clients.region for sp in stacks if sp.size > TEMPLATE_BODY_LIMIT})
    buckets: dict[str, str] = {}
    for region in regions:
        s3 = clients.for_region(region).s3
        got = _ensure(s3, prefix, account, region) if create else _existing(s3, prefix, account, region)
        if got.created:
            report.line(f"created artifacts bucket {got.bucket} (encrypted, versioned, public access blocked, "
                        f"templates expire after {artifacts.ARTIFACTS_KEEP_DAYS} days)")
        for note in got.notes:
            report.line(note)
        buckets[region] = got.bucket
    return buckets


def _ensure(s3: Any, prefix: str, account: str, region: str) -> artifacts.Ensured:
    regional, fallback = regional_artifacts_bucket(prefix, account, region), artifacts_bucket(prefix, account, region)
    try:
        return artifacts.ensure_bucket(s3, regional, fallback, region, account)
    except artifacts.ForeignBucket as exc:
        raise UsageError(foreign_message(str(exc), account)) from None
    except ClientError as exc:
        if runner.error_code(exc) not in ("AccessDenied", "403"):
            raise
        raise UsageError(f"artifacts bucket {regional or fallback} does not exist yet and these credentials may not "
                         "create it — deploy once with the ci deploy role or as an administrator") from None


def _existing(s3: Any, prefix: str, account: str, region: str) -> artifacts.Ensured:
    """The bucket a deploy made (either name), read only: a plan creates and hardens nothing."""
    regional, fallback = regional_artifacts_bucket(prefix, account, region), artifacts_bucket(prefix, account, region)
    for name in (n for n in (regional, fallback) if n):
        state = artifacts.bucket_state(s3, name, account)
        # The name a deploy would create first: held by another account, it stops the plan as it would the deploy.
        if state == "foreign" and name == (regional or fallback):
            raise UsageError(foreign_message(name, account))
        if state == "mine":
            return artifacts.Ensured(name)
    raise UsageError(f"artifacts bucket {regional or fallback} does not exist yet, and a plan creates nothing (the ci "
                     "plan role may not) — a deploy creates it on first need: deploy once with the deploy role or "
                     "as an administrator, then plan again")


def foreign_message(bucket: str, account: str) -> str:
    return (f"artifacts bucket {bucket} exists but is not owned by account {account}: nothing was uploaded "
            "— someone else holds the name; choose another prefix, or have its owner delete it")
