"""The artifacts bucket for templates over CloudFormation's inline limit (issue 12): ownership checked
before first use, every call that accepts it passes ExpectedBucketOwner."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from deployer.aws.runner import error_code

# Its name is predictable (<prefix>-cfn-<account>-<region>[-an]). In S3's account-regional namespace (the
# -an name) no other account can create it; where an endpoint refuses that namespace, the global name is
# used, which another account may create first. Every call that accepts ExpectedBucketOwner passes it (S3
# then answers 403 for a bucket of another owner); CreateBucket does not accept it, and not every endpoint
# honours it, so bucket_state checks explicitly.
ARTIFACTS_KEEP_DAYS = 30  # templates are read once, by CreateChangeSet; older ones are only history


TEMPLATES_TLS_ONLY = "DenyInsecureTransport"


class ForeignBucket(Exception):
    """The artifacts bucket exists and belongs to another account: nothing may be uploaded to it."""


def bucket_state(s3: Any, bucket: str, account: str) -> str:
    """"absent", "mine" or "foreign" (exists, but not among the caller's own buckets)."""
    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
    except ClientError as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            return "absent"
        if code in ("403", "AccessDenied", "Forbidden"):
            return "foreign"
        raise
    # HeadBucket answered: ours, or an endpoint that ignores ExpectedBucketOwner. ListBuckets lists
    # only the caller's own buckets, whoever may read others'.
    return "mine" if bucket in own_buckets(s3) else "foreign"


def own_buckets(s3: Any) -> set[str]:
    names: set[str] = set()
    for page in s3.get_paginator("list_buckets").paginate():
        names.update(b["Name"] for b in page.get("Buckets", []))
    return names


@dataclass(frozen=True)
class Ensured:
    bucket: str
    created: bool = False
    notes: tuple[str, ...] = ()  # one line each, for the person running the deploy


def ensure_bucket(s3: Any, regional: str | None, fallback: str, region: str, account: str) -> Ensured:
    """The artifacts bucket, created on first need and hardened. `regional`: its name in S3's
    account-regional namespace (None where S3 does not offer one); `fallback`: the global name, used
    where the endpoint refuses the namespace. ForeignBucket if another account owns the name in use."""
    if regional is not None:
        state = bucket_state(s3, regional, account)
        if state == "foreign":  # only where the endpoint does not reserve the namespace for its account
            raise ForeignBucket(regional)
        if state == "mine":
            return Ensured(regional, notes=_harden_once(s3, regional, account, created=False))
    if bucket_state(s3, fallback, account) == "mine":  # made by an earlier run that had to fall back
        return Ensured(fallback, notes=_harden_once(s3, fallback, account, created=False))
    notes: tuple[str, ...] = ()
    if regional is not None:
        refused = _create(s3, regional, region, account, namespace=True)
        if refused is None:
            return Ensured(regional, True, _harden_once(s3, regional, account, created=True))
        notes = (f"the S3 endpoint refused the account-regional namespace ({refused}): using the global name "
                 f"{fallback}, its owner checked before every use",)
    if bucket_state(s3, fallback, account) == "foreign":
        raise ForeignBucket(fallback)
    _create(s3, fallback, region, account, namespace=False)
    return Ensured(fallback, True, notes + _harden_once(s3, fallback, account, created=True))


def _create(s3: Any, bucket: str, region: str, account: str, namespace: bool) -> str | None:
    """None once the bucket exists and is ours. namespace=True: in the account-regional namespace, and
    an endpoint's refusal of it (400 or 501, other than the name being taken) is returned as its code."""
    args: dict[str, Any] = {} if region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": region}}
    if namespace:
        args["BucketNamespace"] = "account-regional"
    try:
        s3.create_bucket(Bucket=bucket, **args)
    except ClientError as exc:
        code, status = error_code(exc), exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "BucketAlreadyExists":
            raise ForeignBucket(bucket) from None
        if code != "BucketAlreadyOwnedByYou":
            if not namespace or status not in (400, 501):
                raise
            return code or str(status)
    if bucket_state(s3, bucket, account) != "mine":  # lost a race for the name
        raise ForeignBucket(bucket)
    return None


def _harden_once(s3: Any, bucket: str, account: str, created: bool) -> tuple[str, ...]:
    versioning = s3.get_bucket_versioning(Bucket=bucket, ExpectedBucketOwner=account)
    if created or versioning.get("Status") != "Enabled":  # new, or made by an older version: harden it
        return harden_bucket(s3, bucket, account)
    return ()


def harden_bucket(s3: Any, bucket: str, account: str) -> tuple[str, ...]:
    """Private, encrypted, TLS only, versioned (a swapped template leaves a trace), old templates expire.
    Returns the line to show when the TLS-only policy was left out."""
    owner = {"ExpectedBucketOwner": account}
    s3.put_public_access_block(Bucket=bucket, **owner, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, **owner, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    notes: tuple[str, ...] = ()
    if s3.meta.endpoint_url.startswith("https://"):
        s3.put_bucket_policy(Bucket=bucket, **owner, Policy=json.dumps(tls_only_policy(s3.meta.partition, bucket)))
    else:
        # Not always: the policy denies every request that did not come over TLS, so over a plain-HTTP
        # endpoint that enforces bucket policies (moto's server does, ignoring their conditions) it would
        # refuse this tool too. Every AWS endpoint is https, so only a local emulator goes without it.
        notes = (f"artifacts bucket {bucket}: no TLS-only policy, the endpoint {s3.meta.endpoint_url} is plain "
                 "HTTP (the policy would refuse every call made over it)",)
    s3.put_bucket_versioning(Bucket=bucket, **owner, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, **owner, LifecycleConfiguration={"Rules": [{
        "ID": "expire-old-templates", "Status": "Enabled", "Filter": {"Prefix": ""},
        "Expiration": {"Days": ARTIFACTS_KEEP_DAYS},
        "NoncurrentVersionExpiration": {"NoncurrentDays": ARTIFACTS_KEEP_DAYS},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]})
    return notes


def upload_template(s3: Any, bucket: str, key: str, body: str, region: str, account: str) -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/json",
                  ExpectedBucketOwner=account)
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


def tls_only_policy(partition: str, bucket: str) -> dict[str, Any]:
    arn = f"arn:{partition}:s3:::{bucket}"
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": TEMPLATES_TLS_ONLY, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
