"""Templates over CloudFormation's 51,200-byte body limit go through an artifacts bucket the deployer
creates on first need: private, encrypted, TLS only, versioned, old templates expired, owner checked.

The emulator ignores ExpectedBucketOwner, so the bucket-sniping cases prove the explicit ownership
check: a second emulated account (moto's `x-moto-account-id` header) creates the bucket first."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from deploy_support import REPO, Aws

from deployer import runner
from deployer.actions import Context
from deployer.batch import deploy_stack
from deployer.errors import UsageError
from deployer.planner import TEMPLATE_BODY_LIMIT, StackPlan
from deployer.report import Reporter
from generators.naming import artifacts_bucket

ACCOUNT, OTHER = "123456789012", "222233334444"
BUCKET = artifacts_bucket("bench", "us-east-1", ACCOUNT)


def _context(aws: Aws, monkeypatch: pytest.MonkeyPatch, plan: bool = False) -> Context:
    for key, value in aws.env.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    return Context(runner.Clients("us-east-1"), Reporter("us-east-1", stream=open(os.devnull, "w")),  # noqa: SIM115
                   tags={"big": {"stack": "big"}}, artifacts_bucket=BUCKET, account=ACCOUNT, keep_change_sets=plan)


def _big_stack(tmp_path: Path) -> StackPlan:
    template = {"Description": "big", "Metadata": {"Padding": "é" * (TEMPLATE_BODY_LIMIT // 2 + 10)},
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    body = json.dumps(template, ensure_ascii=False)
    sp = StackPlan("big", "bench-big", tmp_path / "big.json", body, {})
    assert len(body) < TEMPLATE_BODY_LIMIT < sp.size
    return sp


def _other_account(aws: Aws) -> Any:
    s3 = aws.client("s3")
    s3.meta.events.register("before-sign.s3.*", lambda request, **_: request.headers.add_header(
        "x-moto-account-id", OTHER))
    return s3


def test_large_template_goes_through_a_secured_bucket(aws: Aws, monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    assert BUCKET == "bench-cfn-123456789012-us-east-1-an"  # the account-regional namespace
    sp = _big_stack(tmp_path)
    result = deploy_stack(_context(aws, monkeypatch), sp, None)
    assert result.status == "created", result
    s3 = aws.client("s3")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == [f"deploy/bench-big/{sp.digest}.json"]
    rules = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"].values())
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert rule["Status"] == "Enabled" and rule["Expiration"]["Days"] == runner.TEMPLATE_EXPIRY_DAYS
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    # The emulator speaks plain HTTP, where a TLS-only policy would lock every caller out: it is put
    # only on https endpoints (all of AWS's). Its document:
    [deny] = runner.tls_only_policy("aws", BUCKET)["Statement"]
    assert (deny["Effect"], deny["Principal"], deny["Action"], deny["Condition"]) == (
        "Deny", "*", "s3:*", {"Bool": {"aws:SecureTransport": "false"}})
    assert deny["Resource"] == [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]


def test_a_plan_uploads_under_the_plan_prefix(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sp = _big_stack(tmp_path)
    result = deploy_stack(_context(aws, monkeypatch, plan=True), sp, None)
    assert result.status == "planned", result
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"plan/bench-big/{sp.digest}.json"]


def test_a_bucket_another_account_holds_receives_nothing(aws: Aws, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    """Taken between pre-flight and first use: refused there too, before the upload."""
    other = _other_account(aws)
    other.create_bucket(Bucket=BUCKET)
    with pytest.raises(UsageError, match=f"artifacts bucket {BUCKET} exists but is not owned by account {ACCOUNT}"):
        deploy_stack(_context(aws, monkeypatch), _big_stack(tmp_path), None)
    assert other.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def _many_services(tmp_path: Path, count: int = 24) -> Path:
    """The example configuration with enough services that the registry template passes 51,200 bytes."""
    text = (REPO / "platform.toml").read_text(encoding="utf-8")
    blocks = "".join(
        f'\n[[services]]\nname = "svc-{chr(97 + i // 26)}{chr(97 + i % 26)}"\nport = 8000\n'
        f'path_patterns = ["/s{i}/*"]\npriority = {100 + i}\nhealth_check_path = "/s{i}/health"\n'
        "cpu = 256\nmemory = 512\ndesired_count = 1\nmin_count = 1\nmax_count = 1\n"
        for i in range(count))
    path = tmp_path / "platform.toml"
    path.write_text(text.replace('"layered-dev"', '"artifacts-snipe"', 1) + blocks, encoding="utf-8")
    return path


def test_deploy_stops_before_upload_when_another_account_holds_the_bucket(aws: Aws, tmp_path: Path) -> None:
    config = _many_services(tmp_path)
    bucket = artifacts_bucket("artifacts-snipe", "us-east-1", ACCOUNT)
    other = _other_account(aws)
    other.create_bucket(Bucket=bucket)
    done = aws.deploy("--config", str(config), "--stack", "registry", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: artifacts bucket {bucket} exists but is not owned by account {ACCOUNT}, so no template is uploaded "
        "to it — find out who holds that name; deploy with another --prefix meanwhile"]
    assert other.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert aws.stacks() == {}
    # Without the squatter, the same deploy goes through its own bucket.
    other.delete_bucket(Bucket=bucket)
    again = aws.deploy("--config", str(config), "--stack", "registry", "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"created artifacts bucket {bucket}" in again.stdout
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("deploy/artifacts-snipe-registry/")
