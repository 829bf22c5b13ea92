"""The artifacts bucket for templates over CloudFormation's inline limit (issue 12): ownership checked
before first use, every call that accepts it passes ExpectedBucketOwner."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from deployer.aws.runner import error_code

# Its name is predictable (<prefix>-cfn-<account>-<region>): another account may create it first. Every
# call that accepts ExpectedBucketOwner passes it (S3 then answers 403 for a bucket of another owner);
# CreateBucket does not accept it, and not every endpoint honours it, so bucket_state checks explicitly.
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


def ensure_bucket(s3: Any, bucket: str, region: str, account: str) -> bool:
    """The artifacts bucket, created on first need and hardened; True if created. ForeignBucket if
    another account owns the name."""
    state = bucket_state(s3, bucket, account)
    if state == "foreign":
        raise ForeignBucket(bucket)
    if state == "absent":
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **location)
        if bucket_state(s3, bucket, account) != "mine":  # lost a race for the name
            raise ForeignBucket(bucket)
    versioning = s3.get_bucket_versioning(Bucket=bucket, ExpectedBucketOwner=account)
    if state == "absent" or versioning.get("Status") != "Enabled":  # created by an older version: harden it
        harden_bucket(s3, bucket, account)
    return state == "absent"


def harden_bucket(s3: Any, bucket: str, account: str) -> None:
    """Private, encrypted, TLS only, versioned (a swapped template leaves a trace), old templates expire."""
    owner = {"ExpectedBucketOwner": account}
    s3.put_public_access_block(Bucket=bucket, **owner, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, **owner, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    if s3.meta.endpoint_url.startswith("https://"):
        # Over plain HTTP (an emulator) the policy would lock this tool out of its own bucket.
        s3.put_bucket_policy(Bucket=bucket, **owner, Policy=json.dumps(tls_only_policy(s3.meta.partition, bucket)))
    s3.put_bucket_versioning(Bucket=bucket, **owner, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, **owner, LifecycleConfiguration={"Rules": [{
        "ID": "expire-old-templates", "Status": "Enabled", "Filter": {"Prefix": ""},
        "Expiration": {"Days": ARTIFACTS_KEEP_DAYS},
        "NoncurrentVersionExpiration": {"NoncurrentDays": ARTIFACTS_KEEP_DAYS},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]})


def upload_template(s3: Any, bucket: str, key: str, body: str, region: str, account: str) -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/json",
                  ExpectedBucketOwner=account)
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


def tls_only_policy(partition: str, bucket: str) -> dict[str, Any]:
    arn = f"arn:{partition}:s3:::{bucket}"
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": TEMPLATES_TLS_ONLY, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
