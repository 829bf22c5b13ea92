"""Templates over CloudFormation's 51,200-byte body limit go through an artifacts bucket that the
deployer creates on first need (encrypted, public access blocked). Driven through the deploy
action itself, since no configured stack is that large yet."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from deploy_support import Aws, clean_env
from relay_support import Relay
from zygote_support import run_deploy

from deployer.aws import artifacts, runner
from deployer.commands.actions import Context
from deployer.commands.artifacts import prepare_buckets
from deployer.commands.batch import deploy_stack
from deployer.planning.planner import TEMPLATE_BODY_LIMIT, StackPlan
from deployer.presentation.report import Reporter
from generators.naming import regional_artifacts_bucket


def assert_refused_before_upload(aws: Aws, done: subprocess.CompletedProcess[str], theirs: Any, bucket: str) -> None:
    """The run stopped in one line, exit 2, before any upload: their bucket is empty, no stack exists."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == (f"error: artifacts bucket {bucket} exists but is not owned by account "
                                   "123456789012: nothing was uploaded — someone else holds the name; choose "
                                   "another prefix, or have its owner delete it")
    assert theirs.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert aws.stacks() == {}


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
                  tags={"big": {"stack": "big"}}, artifacts_owner="123456789012")
    ctx.buckets = prepare_buckets(clients, [sp], "bench", "123456789012", ctx.report)
    bucket = "bench-cfn-123456789012-us-east-1-an"  # the account-regional namespace: no other account can take it
    assert ctx.buckets == {"us-east-1": bucket}
    result = deploy_stack(ctx, sp, None)
    assert result.status == "created", result
    s3 = aws.client("s3")
    assert s3.list_objects_v2(Bucket=bucket)["Contents"][0]["Key"] == f"bench-big/{sp.digest}.json"
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())


# --- The bucket as deploy.py uses it (issue 12): its owner checked before the first upload ----------------
BUCKET = "layered-dev-cfn-123456789012-us-east-1-an"
GLOBAL = "layered-dev-cfn-123456789012-us-east-1"
OTHER_ACCOUNT = "111111111111"


def big_alerts_config(tmp_path: Path) -> Path:
    """The committed configuration with enough models (two token alarms each) to push the alerts stack over
    the body limit."""
    root = Path(__file__).resolve().parent.parent
    text = (root / "platform.toml").read_text(encoding="utf-8")
    models = ", ".join(f'"example.model-{i:03d}-v1:0"' for i in range(45))
    old = 'bedrock_models = ["anthropic.claude-3-haiku-20240307-v1:0"]'
    assert text.count(old) == 1
    path = tmp_path / "platform.toml"
    path.write_text(text.replace(old, f"bedrock_models = [{models}]"), encoding="utf-8")
    return path


def other_account_s3(aws: Aws) -> object:
    """An S3 client of a second emulated account: moto's server picks the account from this header."""
    s3 = aws.new_client("s3")  # its own: the handler below must not reach other tests' clients
    s3.meta.events.register("before-sign.s3.*", lambda request, **_: request.headers.__setitem__(
        "x-moto-account-id", OTHER_ACCOUNT))
    return s3


def test_a_bucket_sniped_by_another_account_stops_the_run_before_upload(aws: Aws, tmp_path: Path) -> None:
    config = big_alerts_config(tmp_path)
    theirs = other_account_s3(aws)
    theirs.create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
    done = aws.deploy("--config", str(config), "--stack", "alerts", "--yes")
    assert_refused_before_upload(aws, done, theirs, BUCKET)


def test_the_artifacts_bucket_is_hardened_and_plans_upload_under_plan(aws: Aws, tmp_path: Path) -> None:
    """A deploy makes and hardens the bucket; a plan then only uploads, under plan/ (it writes nothing else)."""
    config = big_alerts_config(tmp_path)
    done = aws.deploy("--config", str(config), "--stack", "alerts", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    s3 = aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("layered-dev-alerts/"), keys
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    # No TLS-only policy over plain HTTP (it would lock the tool out): see the next test.
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=BUCKET)
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert rule["Status"] == "Enabled" and rule["Expiration"]["Days"] == artifacts.ARTIFACTS_KEEP_DAYS
    planned = aws.deploy("--config", str(config), "--stack", "alerts", "--plan")
    assert planned.returncode == 0, planned.stdout + planned.stderr  # no changes: nothing to review
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert {k.split("/")[0] for k in keys} == {"plan", "layered-dev-alerts"}, keys


def test_the_tls_only_policy_denies_plain_http(aws: Aws) -> None:
    """The policy denies a plain-HTTP upload (moto ignores its condition and would deny over https too:
    test_deploy_artifacts_tls.py; on AWS the condition is what limits it to requests without TLS)."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(artifacts.tls_only_policy("aws", BUCKET)))
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=BUCKET, Key="x", Body=b"{}")
    assert runner.error_code(err.value) in ("403", "AccessDenied")
    cn = artifacts.tls_only_policy("aws-cn", "b")["Statement"][0]
    assert cn["Resource"] == ["arn:aws-cn:s3:::b", "arn:aws-cn:s3:::b/*"]


# --- An endpoint without the account-regional namespace: the global name, its owner checked -------------
class _NoNamespaceS3(Relay):
    """Forwards to the emulator, but refuses CreateBucket in the account-regional namespace, as an
    S3-compatible endpoint without that namespace does (HTTP 400)."""

    deny_create = False  # answer every CreateBucket as IAM does a role without s3:CreateBucket (the plan role)

    def relay(self) -> None:
        body = self.read_body()
        creates = self.command == "PUT" and "?" not in self.path and self.path.count("/") == 1
        if creates and self.deny_create:
            self.answer(403, {"Content-Type": "application/xml"}, b"<Error><Code>AccessDenied</Code><Message>"
                        b"not authorized to perform: s3:CreateBucket</Message></Error>")
            return
        if creates and self.headers.get("x-amz-bucket-namespace"):
            self.answer(400, {"Content-Type": "application/xml"}, b"<Error><Code>InvalidArgument</Code><Message>"
                        b"x-amz-bucket-namespace is not supported</Message></Error>")
            return
        self.forward(body, timeout=30)


def _serve(aws: Aws, deny_create: bool) -> Iterator[str]:
    handler = type("Handler", (_NoNamespaceS3,), {"upstream": aws.env["AWS_ENDPOINT_URL"], "deny_create": deny_create})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_namespace_s3(aws: Aws) -> Iterator[str]:
    yield from _serve(aws, deny_create=False)


@pytest.fixture
def no_create_s3(aws: Aws) -> Iterator[str]:
    yield from _serve(aws, deny_create=True)


def test_where_the_namespace_is_refused_the_global_name_is_used_and_its_owner_checked(
        aws: Aws, tmp_path: Path, no_namespace_s3: str) -> None:
    """The fallback path: the sniped global name stops the run (one line, exit 2, nothing uploaded); once
    the name is free, the same deploy creates it there and says why."""
    config = big_alerts_config(tmp_path)
    env = {**aws.env, "AWS_ENDPOINT_URL_S3": no_namespace_s3}
    theirs = other_account_s3(aws)
    theirs.create_bucket(Bucket=GLOBAL)  # type: ignore[attr-defined]
    done = aws.deploy("--config", str(config), "--stack", "alerts", "--yes", env=env)
    assert_refused_before_upload(aws, done, theirs, GLOBAL)
    s3 = aws.client("s3")
    assert BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}

    theirs.delete_bucket(Bucket=GLOBAL)  # type: ignore[attr-defined]
    again = aws.deploy("--config", str(config), "--stack", "alerts", "--yes", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert ("the S3 endpoint refused the account-regional namespace (InvalidArgument): using the global name "
            f"{GLOBAL}, its owner checked before every use") in again.stdout
    assert f"created artifacts bucket {GLOBAL}" in again.stdout
    assert f"artifacts bucket {GLOBAL}: no TLS-only policy, the endpoint {no_namespace_s3} is plain HTTP" \
        in again.stdout
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=GLOBAL)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("layered-dev-alerts/"), keys
    assert s3.get_bucket_versioning(Bucket=GLOBAL)["Status"] == "Enabled"


def test_regional_names_keep_their_suffix_whole() -> None:
    assert regional_artifacts_bucket("layered-dev", "123456789012", "eu-west-1") == \
        "layered-dev-cfn-123456789012-eu-west-1-an"
    long_one = regional_artifacts_bucket("a" * 31, "123456789012", "ap-southeast-1")
    assert long_one is not None and len(long_one) == 63 and long_one.endswith("-123456789012-ap-southeast-1-an")
    assert regional_artifacts_bucket("layered-dev", "123456789012", "me-south-1") is None  # not offered there


def test_a_plan_that_may_not_create_the_bucket_says_so(aws: Aws, tmp_path: Path, no_create_s3: str) -> None:
    """A plan creates no bucket (the plan role may not): one line, exit 2, no change set, nothing created."""
    config = big_alerts_config(tmp_path)
    done = aws.deploy("--config", str(config), "--stack", "alerts", "--plan",
                      env={**aws.env, "AWS_ENDPOINT_URL_S3": no_create_s3})
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == (f"error: artifacts bucket {BUCKET} does not exist yet, and a plan creates nothing "
                                   "(the ci plan role may not) — a deploy creates it on first need: deploy once with "
                                   "the deploy role or as an administrator, then plan again")
    assert aws.stacks() == {} and aws.client("s3").list_buckets()["Buckets"] == []


def test_local_uses_the_account_regional_name(tmp_path: Path) -> None:
    """`deploy.py --local` (the in-process emulator) offers the namespace: the -an bucket, and the line
    saying why it has no TLS-only policy there."""
    env = clean_env(None)
    done = run_deploy(["--local", "--config", str(big_alerts_config(tmp_path)), "--stack", "alerts", "--yes"], env,
                      timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"created artifacts bucket {BUCKET}" in done.stdout
    assert f"artifacts bucket {BUCKET}: no TLS-only policy" in done.stdout
    assert "refused the account-regional namespace" not in done.stdout
