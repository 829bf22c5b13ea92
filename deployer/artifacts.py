"""The artifacts bucket for templates over CloudFormation's 51,200-byte body limit.

One bucket per account, region and prefix (generators.naming.artifacts_bucket), in S3's
account-regional namespace where S3 has one, so no other account can hold the name. Its
ownership is checked in pre-flight, before any change set, and again when it is first used: a
bucket of that name in another account would receive the template and could swap it before
CloudFormation reads it (with CAPABILITY_NAMED_IAM). A --plan uploads under `plan/`, which the
plan role may write and the deploy role may not read; a deployment uploads under `deploy/`.
"""

from __future__ import annotations

from typing import Any

from generators.naming import DEPLOY_ARTIFACTS, PLAN_ARTIFACTS, uses_account_namespace

from . import runner
from .errors import UsageError
from .planner import TEMPLATE_BODY_LIMIT, Plan


def foreign_message(bucket: str, account: str) -> str:
    return (f"artifacts bucket {bucket} exists but is not owned by account {account}, so no template is "
            "uploaded to it — find out who holds that name; deploy with another --prefix meanwhile")


def check_bucket(clients: runner.Clients, plan: Plan, bucket: str, account: str) -> None:
    """Pre-flight, when a selected template needs the bucket: it is ours, or absent (one line, exit 2)."""
    if any(sp.size > TEMPLATE_BODY_LIMIT for sp in plan.stacks.values()) \
            and runner.bucket_state(clients.s3, bucket, account) == "foreign":
        raise UsageError(foreign_message(bucket, account))


def template_url(ctx: Any, key: str, body: str) -> str:
    """Upload one template (creating the bucket on first need) and return its URL.
    `ctx`: actions.Context (artifacts_bucket, account, lock, keep_change_sets, report, clients)."""
    s3, region, bucket = ctx.clients.s3, ctx.clients.region, ctx.artifacts_bucket
    with ctx.lock:
        try:
            if runner.ensure_bucket(s3, bucket, region, ctx.account, uses_account_namespace(region)):
                ctx.report.line(f"created artifacts bucket {bucket} (private, encrypted, TLS only, versioned, "
                                f"templates expire after {runner.TEMPLATE_EXPIRY_DAYS} days)")
        except runner.ForeignBucket:
            raise UsageError(foreign_message(bucket, ctx.account)) from None
    folder = PLAN_ARTIFACTS if ctx.keep_change_sets else DEPLOY_ARTIFACTS
    return runner.upload_template(s3, bucket, f"{folder}/{key}", body, region, ctx.account)
