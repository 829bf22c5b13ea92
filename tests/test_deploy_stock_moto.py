"""Against an endpoint the tool did not start and did not patch: a stock `python -m moto.server` (forked,
under xdist, from a zygote that only imported moto's modules: zygote_support.popen_moto_server).

What works must work (the foundation, the registry, alerts); what the endpoint lacks must
end cleanly: an optional step it does not implement (termination protection) is a warning naming
the step; a stack it cannot create (CloudFront) fails in one line naming the stack, the resources
and the endpoint's reason, and leaves nothing behind (no stack shell, no bucket).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import boto3
import pytest
from deploy_support import clean_env
from zygote_support import run_deploy, stock_moto_server

PREFIX = "layered-dev"
# The services read the auth stack's issuer, and auth waits for the frontend stock moto cannot create.
WORKING = ["infrastructure", "registry", "alerts"]


@pytest.fixture(scope="module")
def stock() -> Iterator[str]:
    with stock_moto_server() as port:
        yield f"http://127.0.0.1:{port}"


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_deploy(list(args), clean_env(url), timeout=300)


def client(url: str, service: str) -> object:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def check_clean_failure(url: str, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "this is a bug" not in done.stderr
    for stack in ("infrastructure", "registry"):
        assert (f"warning: {stack}: optional step skipped: termination protection (UpdateTerminationProtection) "
                "— the endpoint does not implement it") in done.stderr
    failed = [ln for ln in done.stdout.splitlines() if ln.startswith("frontend failed: ")]
    assert len(failed) == 1, done.stdout
    assert f"{PREFIX}-frontend: the endpoint failed the change set: ValidationException:" in failed[0]
    assert "Distribution (AWS::CloudFront::Distribution)" in failed[0]
    stacks = {s["StackName"]: s["StackStatus"] for s in client(url, "cloudformation").describe_stacks()["Stacks"]}
    assert stacks == {f"{PREFIX}-{s}": "CREATE_COMPLETE" for s in WORKING}
    assert client(url, "s3").list_buckets()["Buckets"] == []  # the site bucket is not orphaned


def test_stock_moto_deploys_what_it_can_and_fails_cleanly_on_the_rest(stock: str) -> None:
    first = run(stock, "--stack", "all", "--yes")
    check_clean_failure(stock, first)
    assert "app-api         none    skipped" in first.stdout and "console.aws.amazon.com" not in first.stdout
    again = run(stock, "--stack", "all", "--yes")
    check_clean_failure(stock, again)
    assert "infrastructure  no changes" in again.stdout and "registry        no changes" in again.stdout
    status = run(stock, "--status")
    assert status.returncode == 0, status.stderr
    assert "frontend        absent" in status.stdout
    gone = run(stock, "--destroy", "--stack", "app-api", "--stack", "inference-api", "--yes")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    stacks = {s["StackName"] for s in client(stock, "cloudformation").describe_stacks()["Stacks"]}
    assert stacks == {f"{PREFIX}-infrastructure", f"{PREFIX}-registry", f"{PREFIX}-alerts"}
