"""Templates over CloudFormation's 51,200-byte body limit go through an artifacts bucket that the
deployer creates on first need (encrypted, public access blocked). Driven through the deploy
action itself, since no configured stack is that large yet."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from deploy_support import Aws

from deployer import runner
from deployer.actions import Context
from deployer.batch import deploy_stack
from deployer.planner import TEMPLATE_BODY_LIMIT, StackPlan
from deployer.report import Reporter


def test_large_template_goes_through_the_artifacts_bucket(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key, value in aws.env.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    template = {"Description": "big", "Metadata": {"Padding": "é" * (TEMPLATE_BODY_LIMIT // 2 + 10)},
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    body = json.dumps(template, ensure_ascii=False)
    sp = StackPlan("big", "bench-big", tmp_path / "big.json", body, {})
    assert len(body) < TEMPLATE_BODY_LIMIT < sp.size
    clients = runner.Clients("us-east-1")
    ctx = Context(clients, Reporter("us-east-1", stream=open(os.devnull, "w")),  # noqa: SIM115
                  tags={"big": {"stack": "big"}}, artifacts_bucket="bench-cfn-123456789012-us-east-1")
    result = deploy_stack(ctx, sp, None)
    assert result.status == "created", result
    s3 = aws.client("s3")
    assert s3.list_objects_v2(Bucket=ctx.artifacts_bucket)["Contents"][0]["Key"] == f"bench-big/{sp.digest}.json"
    rules = s3.get_bucket_encryption(Bucket=ctx.artifacts_bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=ctx.artifacts_bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
