"""public-alb: the origin secret is created on the first deploy and rotated in three deploys (moto over HTTP).

What only AWS shows: moto does not resolve `{{resolve:secretsmanager:...}}` references, so here the
listener rules carry the reference string with the version id substituted (proof the pinned version
reached the template). That the ALB then really accepts old and new values and CloudFront sends the
new one is for a deployment on AWS to show.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from deploy_support import REPO, Aws
from edge_support import certificate, dev_config
from moto_state_support import prepared
from test_config_errors import BASE

PREFIX = "layered-dev"
SECRET = f"{PREFIX}/edge/origin-secret"
ALB, CLOUDFRONT = (f"/{PREFIX}/edge/origin-secret-alb-version", f"/{PREFIX}/edge/origin-secret-cloudfront-version")


def public_alb_text(aws: Aws) -> str:
    """public-alb needs a domain and certificates; moto checks a listener's certificate exists."""
    return dev_config(edge="public-alb", domain="shop.example.org",
                      alb_certificate_arn=certificate(aws, "origin.shop.example.org"),
                      cloudfront_certificate_arn=certificate(aws, "shop.example.org"))


@pytest.fixture
def public_alb(aws: Aws, tmp_path: Path) -> Path:
    config = tmp_path / "platform.toml"
    config.write_text(public_alb_text(aws))
    return config


# The configuration each worker's "public-alb, every stack" state was made with: it names that
# state's certificates (their ARNs are random), so a test restoring the state gets the same text.
_deployed_text: dict[str, str] = {}


@pytest.fixture
def public_alb_deployed(aws: Aws, tmp_path: Path) -> Path:
    """The public_alb configuration with every stack of it deployed (moto_state_support.prepared)."""
    config = tmp_path / "platform.toml"

    def make(fresh: Aws) -> None:
        _deployed_text["all"] = public_alb_text(fresh)
        config.write_text(_deployed_text["all"])
        done = fresh.deploy("--config", str(config), "--stack", "all", "--yes")
        assert done.returncode == 0, done.stdout + done.stderr

    prepared(aws, "public-alb all", make)
    config.write_text(_deployed_text["all"])
    return config


def versions(aws: Aws) -> dict[str, str]:
    ssm = aws.client("ssm")
    return {p: ssm.get_parameter(Name=p)["Parameter"]["Value"] for p in (ALB, CLOUDFRONT)}


def value(aws: Aws, version: str) -> dict[str, str]:
    text = aws.client("secretsmanager").get_secret_value(SecretId=SECRET, VersionId=version)["SecretString"]
    return json.loads(text)


def header_values(aws: Aws) -> list[list[str]]:
    elb, ssm = aws.client("elbv2"), aws.client("ssm")
    listener = ssm.get_parameter(Name=f"/{PREFIX}/network/alb-listener-arn")["Parameter"]["Value"]
    rules = [r for r in elb.describe_rules(ListenerArn=listener)["Rules"] if r["Priority"] != "default"]
    return [c["HttpHeaderConfig"]["Values"] for r in rules for c in r["Conditions"] if c["Field"] == "http-header"]


def written_files() -> str:
    texts = []
    for path in (REPO / "build" / "templates").rglob("*.json"):
        try:
            texts.append(path.read_text())
        except FileNotFoundError:  # another worker's deploy pruned it meanwhile (build/ is shared)
            continue
    return "".join(texts)


def test_first_deploy_creates_the_secret_and_rules_pin_its_version(aws: Aws, public_alb: Path) -> None:
    done = aws.deploy("--config", str(public_alb), "--stack", "all", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    v = versions(aws)
    assert v[ALB] == v[CLOUDFRONT]
    secret = value(aws, v[ALB])
    assert set(secret) == {"current", "previous"} and secret["current"] != secret["previous"]
    assert len(secret["current"]) >= 40
    for text in (done.stdout, done.stderr, written_files()):
        assert secret["current"] not in text and secret["previous"] not in text
    pinned = [f"{{{{resolve:secretsmanager:{SECRET}:SecretString:{k}::{v[ALB]}}}}}" for k in ("current", "previous")]
    assert header_values(aws) == [pinned, pinned]  # both services' rules, pinned to the version in SSM
    default = aws.client("elbv2").describe_listeners(ListenerArns=[aws.client("ssm").get_parameter(
        Name=f"/{PREFIX}/network/alb-listener-arn")["Parameter"]["Value"]])["Listeners"][0]["DefaultActions"][0]
    assert default["FixedResponseConfig"]["StatusCode"] == "403"


def test_rotation_moves_alb_then_cloudfront_then_drops_the_old(aws: Aws, public_alb_deployed: Path) -> None:
    first = versions(aws)
    old = value(aws, first[CLOUDFRONT])["current"]
    done = aws.deploy("--config", str(public_alb_deployed), "--rotate-origin-secret", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    steps = [ln for ln in done.stdout.splitlines() if "origin secret rotation, step" in ln]
    assert [s.split("step ")[1][:6] for s in steps] == ["1 of 3", "2 of 3", "3 of 3"]
    assert "app-api, inference-api" in steps[0] and "frontend" in steps[1]
    now = versions(aws)
    sent, accepted = value(aws, now[CLOUDFRONT]), value(aws, now[ALB])
    assert sent["current"] == accepted["current"] != old  # CloudFront sends what the ALB accepts, a new value
    assert sent["previous"] == old  # during step 2 the ALB still took the old value too
    assert accepted["previous"] not in (old, sent["current"])  # ... and after step 3 no longer does
    assert len({first[ALB], now[CLOUDFRONT], now[ALB]}) == 3
    assert old not in done.stdout + done.stderr and sent["current"] not in done.stdout + done.stderr


def test_a_run_stopped_before_cloudfront_moved_resumes_from_what_cloudfront_really_sends(
        aws: Aws, public_alb_deployed: Path) -> None:
    """SSM already names the new version for CloudFront, but the frontend was never deployed with it:
    a rotation started from SSM's value would make the load balancer drop what CloudFront still sends."""
    old = value(aws, versions(aws)[CLOUDFRONT])["current"]
    half = aws.client("secretsmanager").put_secret_value(
        SecretId=SECRET, SecretString=json.dumps({"current": "m" * 43, "previous": old}))["VersionId"]
    for path in (ALB, CLOUDFRONT):  # step 1 done, step 2 wrote its parameter, then the run stopped
        aws.client("ssm").put_parameter(Name=path, Value=half, Type="String", Overwrite=True)
    done = aws.deploy("--config", str(public_alb_deployed), "--rotate-origin-secret", "--yes")
    assert done.returncode == 0 and "resuming the one in progress" in done.stdout, done.stdout + done.stderr
    now = versions(aws)
    assert now[CLOUDFRONT] == half and value(aws, now[ALB])["current"] == "m" * 43


def test_an_interrupted_rotation_resumes(aws: Aws, public_alb_deployed: Path) -> None:
    before = versions(aws)
    old = value(aws, before[CLOUDFRONT])["current"]
    # Step 1 wrote the new version to the ALB's parameter, then the run stopped.
    half = aws.client("secretsmanager").put_secret_value(
        SecretId=SECRET, SecretString=json.dumps({"current": "n" * 43, "previous": old}))["VersionId"]
    aws.client("ssm").put_parameter(Name=ALB, Value=half, Type="String", Overwrite=True)
    done = aws.deploy("--config", str(public_alb_deployed), "--rotate-origin-secret", "--yes")
    assert done.returncode == 0 and "resuming the one in progress" in done.stdout, done.stdout + done.stderr
    now = versions(aws)
    assert now[CLOUDFRONT] == half and value(aws, now[ALB])["current"] == "n" * 43
    assert value(aws, now[ALB])["previous"] != old


@pytest.mark.parametrize(("case", "expected"), [
    ("vpc-origin", "has edge = 'vpc-origin': only \"public-alb\" uses an origin secret"),
    ("before first deploy", "no origin secret yet"),
])
def test_rotation_refusals_are_one_line_exit_2(aws: Aws, public_alb: Path, case: str, expected: str,
                                               tmp_path: Path) -> None:
    config = public_alb
    if case == "vpc-origin":
        config = tmp_path / "vpc.toml"
        config.write_text(BASE)
    done = aws.deploy("--config", str(config), "--rotate-origin-secret", "--yes")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and expected in lines[0], done.stderr
    secrets: list[Any] = aws.client("secretsmanager").list_secrets()["SecretList"]
    assert secrets == []


def test_rotation_takes_no_stack_flag() -> None:
    """The rotation chooses its stacks itself (the readers of the two version parameters)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(REPO / "deploy.py"), "--rotate-origin-secret", "--stack", "app-api"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "--stack only goes with" in lines[0], done.stderr
