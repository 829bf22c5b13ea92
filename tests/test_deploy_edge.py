"""Both edge modes with a domain, deployed to moto's server by deploy.py as a user runs it.

moto checks that a listener's certificate exists, so the test requests the two certificates
in the emulator's ACM first, exactly as a user creates them before the first deploy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from deploy_support import Aws
from edge_support import certificate, dev_config

ALL = ("infrastructure", "registry", "app-api", "inference-api", "frontend", "auth", "alerts")


@pytest.mark.moto_required("AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ElasticLoadBalancingV2::Listener",
                           "AWS::ElasticLoadBalancingV2::ListenerRule", "AWS::SSM::Parameter")
@pytest.mark.parametrize("mode", ["vpc-origin", "public-alb"])
def test_mode_with_a_domain_deploys_every_stack_on_one_https_listener(mode: str, aws: Aws, tmp_path: Path) -> None:
    prefix = f"edge-{mode.split('-')[0]}"
    alb_cert = certificate(aws, "origin.shop.example.org")
    config = tmp_path / "platform.toml"
    config.write_text(dev_config(edge=mode, domain="shop.example.org", alb_certificate_arn=alb_cert,
                                 cloudfront_certificate_arn=certificate(aws, "shop.example.org")))
    done = aws.deploy("--config", str(config), "--prefix", prefix, "--stack", "all", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert {s["StackName"]: s["StackStatus"] for s in aws.stacks().values()} == {
        f"{prefix}-{s}": "CREATE_COMPLETE" for s in ALL}
    elb = aws.client("elbv2")
    (alb,) = elb.describe_load_balancers()["LoadBalancers"]
    assert alb["Scheme"] == ("internal" if mode == "vpc-origin" else "internet-facing")
    (listener,) = elb.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    assert (listener["Protocol"], listener["Port"]) == ("HTTPS", 443)
    assert [c["CertificateArn"] for c in listener["Certificates"]] == [alb_cert]
    ssm = aws.client("ssm")
    published = ssm.get_parameter(Name=f"/{prefix}/network/alb-listener-arn")["Parameter"]["Value"]
    assert published == listener["ListenerArn"]
    rules = [r for r in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if not r["IsDefault"]]
    assert sorted(r["Priority"] for r in rules) == ["1", "10"]
    site = ssm.get_parameter(Name=f"/{prefix}/frontend/url")["Parameter"]["Value"]
    assert site == "https://shop.example.org"
    # the emulator serves no traffic: no URL is offered as if it could be tried (the site's is in SSM above)
    assert "no URLs to try" in done.stdout and ".elb.amazonaws.com" not in done.stdout
