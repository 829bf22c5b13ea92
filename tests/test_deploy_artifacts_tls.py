"""The artifacts bucket over an https endpoint: the TLS-only policy is applied, and it is the only
difference from a plain-HTTP endpoint (test_deploy_artifacts.py). A stock moto server with a
certificate made here.

An emulator gap shows too: moto ignores a bucket policy's conditions, so the policy's Deny (meant
only for requests without TLS) refuses every object call, over https as well; the upload then
fails in one line. On AWS aws:SecureTransport is true over https and the upload passes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from deploy_support import clean_env, self_signed
from test_deploy_artifacts import BUCKET, big_alerts_config
from zygote_support import run_deploy, stock_moto_server

from deployer.aws import artifacts


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = self_signed("127.0.0.1")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert)
    key_path.write_bytes(key)
    return cert_path, key_path


@pytest.fixture
def https_moto(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert, key = _certificate(tmp_path)
    with stock_moto_server("-s", "-c", str(cert), "-k", str(key)) as port:
        yield f"https://127.0.0.1:{port}", cert


def test_over_https_the_bucket_gets_the_tls_only_policy_and_nothing_else_differs(
        https_moto: tuple[str, Path], tmp_path: Path) -> None:
    url, cert = https_moto
    env = {**clean_env(url), "AWS_CA_BUNDLE": str(cert)}
    done = run_deploy(["--config", str(big_alerts_config(tmp_path)), "--stack", "alerts", "--yes"], env, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"created artifacts bucket {BUCKET}" in done.stdout
    assert "no TLS-only policy" not in done.stdout + done.stderr
    [error] = [ln for ln in done.stderr.splitlines() if ln.startswith("error: ")]
    assert "PutObject operation: Forbidden" in error and "Traceback" not in done.stderr  # moto: conditions ignored
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", verify=str(cert),
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    assert json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"]) == artifacts.tls_only_policy("aws", BUCKET)
    # The rest is what a plain-HTTP endpoint gets too (test_deploy_artifacts.py checks the same there).
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert rule["Expiration"]["Days"] == artifacts.ARTIFACTS_KEEP_DAYS
    encryption = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"].values())
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    assert "alerts" not in {s["StackName"].split("-")[-1] for s in boto3.client(
        "cloudformation", endpoint_url=url, region_name="us-east-1", verify=str(cert), aws_access_key_id="testing",
        aws_secret_access_key="testing").describe_stacks()["Stacks"]}
