"""The edge as the templates build it: CloudFront is the only way in, and both legs agree.

Checked on the committed dev and prod templates and on variants rendered from edited copies of
platform.toml (public-alb, a domain without a hosted zone), since the example file cannot hold
every mode at once.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from edge_support import ALB_CERT, CF_CERT, REPO
from template_sets import cfn_lint_findings, checkov_findings, template_set

from generators.contract import build_contract

Templates = dict[str, dict[str, Any]]
SERVICES = ("app-api", "inference-api")
PREFIX_LIST = "pl-3b927c52"  # com.amazonaws.global.cloudfront.origin-facing in us-east-1
# Test id -> the set of tests/template_sets.py rendered (once per run) with those edge keys.
VARIANTS = {
    "public-alb": "edge-public-alb",
    "public-alb with zone": "edge-public-alb-zone",  # hosted_zone_id = "Z0123ABC"
    "vpc-origin with domain": "edge-vpc-origin-domain",
}


def committed(env: str) -> Templates:
    return {p.stem: json.loads(p.read_text()) for p in (REPO / "templates" / env).glob("*.json")}


def rendered(factory: pytest.TempPathFactory, variant: str) -> Templates:
    return template_set(factory, VARIANTS[variant])


@pytest.fixture(params=["dev", "prod", *VARIANTS])
def every_mode(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Templates:
    return committed(request.param) if request.param in ("dev", "prod") else rendered(tmp_path_factory, request.param)


def of_type(t: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in t["Resources"].items() if r["Type"] == kind}


def one(t: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = of_type(t, kind).values()
    return found["Properties"]


def test_origin_protocol_and_port_match_the_one_listener(every_mode: Templates) -> None:
    """Prod once sent http-only:80 to a listener that only redirected to HTTPS: never again, in any mode."""
    (listener,) = of_type(every_mode["infrastructure"], "AWS::ElasticLoadBalancingV2::Listener").values()
    listening = (listener["Properties"]["Protocol"], listener["Properties"]["Port"])
    dist = one(every_mode["frontend"], "AWS::CloudFront::Distribution")["DistributionConfig"]
    (api,) = [o for o in dist["Origins"] if o["Id"] == "api"]
    if "VpcOriginConfig" in api:
        config = one(every_mode["frontend"], "AWS::CloudFront::VpcOrigin")["VpcOriginEndpointConfig"]
        assert api["VpcOriginConfig"]["VpcOriginId"] == {"Fn::GetAtt": ["ApiVpcOrigin", "Id"]}
    else:
        config = api["CustomOriginConfig"]
    policy = config["OriginProtocolPolicy"]
    assert policy in ("http-only", "https-only"), "match-viewer would send HTTPS to an HTTP listener"
    sending = ("HTTP", config.get("HTTPPort", 80)) if policy == "http-only" else ("HTTPS", config.get("HTTPSPort", 443))
    assert sending == listening
    if policy == "https-only":
        assert config["OriginSSLProtocols"] == ["TLSv1.2"]
        assert api["DomainName"] == "origin." + dist["Aliases"][0], "the name on the ALB certificate"
        assert listener["Properties"]["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")


def test_alb_admits_only_cloudfront_on_its_listener_port_and_sends_nothing_itself(every_mode: Templates) -> None:
    infra = every_mode["infrastructure"]
    sg = infra["Resources"]["AlbSecurityGroup"]["Properties"]  # the NAT instance has one of its own
    (rule,) = sg["SecurityGroupIngress"]
    (listener,) = of_type(infra, "AWS::ElasticLoadBalancingV2::Listener").values()
    assert rule["SourcePrefixListId"] == PREFIX_LIST
    assert not {"CidrIp", "CidrIpv6", "SourceSecurityGroupId"} & set(rule)
    assert rule["FromPort"] == rule["ToPort"] == listener["Properties"]["Port"]
    (egress,) = sg["SecurityGroupEgress"]
    assert (egress["IpProtocol"], egress["CidrIp"]) == ("icmp", "255.255.255.255/32"), "a rule that matches nothing"
    assert not of_type(infra, "AWS::EC2::SecurityGroupIngress")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_vpc_origin_alb_is_internal_in_private_subnets_with_no_public_listener(env: str) -> None:
    infra = committed(env)["infrastructure"]
    (alb_id,) = of_type(infra, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    alb = one(infra, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert alb["Scheme"] == "internal"
    assert [s["Ref"] for s in alb["Subnets"]] == ["PrivateSubnet1", "PrivateSubnet2"]
    public = [r for r in of_type(infra, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
              if r["Properties"].get("Scheme", "internet-facing") == "internet-facing"]
    assert public == []
    for listener in of_type(infra, "AWS::ElasticLoadBalancingV2::Listener").values():
        assert listener["Properties"]["LoadBalancerArn"] == {"Ref": alb_id}
    (vpc_origin,) = of_type(committed(env)["frontend"], "AWS::CloudFront::VpcOrigin").values()
    assert vpc_origin["Properties"]["VpcOriginEndpointConfig"]["Arn"] == {"Ref": "AlbArn"}


def test_public_alb_is_internet_facing_behind_the_prefix_list_and_https_only(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    stacks = rendered(tmp_path_factory, "public-alb")
    infra = stacks["infrastructure"]
    alb = one(infra, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert alb["Scheme"] == "internet-facing"
    assert [s["Ref"] for s in alb["Subnets"]] == ["PublicSubnet1", "PublicSubnet2"]
    (listener,) = of_type(infra, "AWS::ElasticLoadBalancingV2::Listener").values()
    assert (listener["Properties"]["Protocol"], listener["Properties"]["Port"]) == ("HTTPS", 443)
    assert listener["Properties"]["Certificates"] == [{"CertificateArn": ALB_CERT}]
    assert not of_type(stacks["frontend"], "AWS::CloudFront::VpcOrigin")
    assert not of_type(infra, "AWS::Route53::RecordSet"), "no zone configured: the user points origin.<domain>"


def test_domain_gives_viewers_the_certificate_aliases_and_records(tmp_path_factory: pytest.TempPathFactory) -> None:
    stacks = rendered(tmp_path_factory, "public-alb with zone")
    dist = one(stacks["frontend"], "AWS::CloudFront::Distribution")["DistributionConfig"]
    assert dist["Aliases"] == ["shop.example.org"]
    assert dist["ViewerCertificate"] == {"AcmCertificateArn": CF_CERT, "MinimumProtocolVersion": "TLSv1.2_2021",
                                         "SslSupportMethod": "sni-only"}
    records = [r["Properties"] for r in of_type(stacks["frontend"], "AWS::Route53::RecordSet").values()]
    assert sorted((r["Name"], r["Type"], r["AliasTarget"]["HostedZoneId"]) for r in records) == [
        ("shop.example.org", "A", "Z2FDTNDATAQYW2"), ("shop.example.org", "AAAA", "Z2FDTNDATAQYW2")]
    origin = one(stacks["infrastructure"], "AWS::Route53::RecordSet")
    assert (origin["Name"], origin["Type"], origin["HostedZoneId"]) == ("origin.shop.example.org", "A", "Z0123ABC")
    assert origin["AliasTarget"]["DNSName"] == {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}
    url = [r["Properties"]["Value"] for r in of_type(stacks["frontend"], "AWS::SSM::Parameter").values()
           if r["Properties"]["Name"].endswith("/frontend/url")]
    assert url == ["https://shop.example.org"]


def test_viewers_always_get_https() -> None:
    for env in ("dev", "prod"):
        dist = one(committed(env)["frontend"], "AWS::CloudFront::Distribution")["DistributionConfig"]
        behaviors = [dist["DefaultCacheBehavior"], *dist["CacheBehaviors"]]
        assert {b["ViewerProtocolPolicy"] for b in behaviors} == {"redirect-to-https"}
    dev = one(committed("dev")["frontend"], "AWS::CloudFront::Distribution")["DistributionConfig"]
    assert dev["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True} and "Aliases" not in dev


def test_every_service_stack_adds_its_own_alb_egress_rule(every_mode: Templates) -> None:
    for stack in SERVICES:
        t = every_mode[stack]
        egress = one(t, "AWS::EC2::SecurityGroupEgress")
        (task,) = of_type(t, "AWS::ECS::TaskDefinition").values()
        port = task["Properties"]["ContainerDefinitions"][0]["PortMappings"][0]["ContainerPort"]
        assert egress["GroupId"] == {"Ref": "AlbSecurityGroupId"}
        assert egress["DestinationSecurityGroupId"] == {"Ref": "ServiceSecurityGroup"}
        assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == ("tcp", port, port)
        (service,) = of_type(t, "AWS::ECS::Service").values()
        assert "AlbEgressToService" in service["DependsOn"], "targets register only once the ALB may reach them"


def test_service_stacks_read_the_one_listener_whatever_the_mode(every_mode: Templates) -> None:
    contract = build_contract(every_mode)
    for stack in SERVICES:
        assert contract.reads[stack]["ListenerArn"].endswith("/network/alb-listener-arn")
    writers = {path: stack for path, stack in contract.writer.items() if path.endswith("/network/alb-listener-arn")}
    assert list(writers.values()) == ["infrastructure"]
    assert "alb-https-listener-arn" not in json.dumps(every_mode)


def test_subnets_are_placed_by_zone_id_outside_zones_without_vpc_origins(every_mode: Templates) -> None:
    subnets = of_type(every_mode["infrastructure"], "AWS::EC2::Subnet").values()
    zones = [s["Properties"]["AvailabilityZoneId"] for s in subnets]
    assert len(zones) == 4 and len(set(zones)) == 2 and "use1-az3" not in zones
    assert all("AvailabilityZone" not in s["Properties"] for s in subnets)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rendered_variants_are_cfn_lint_clean(variant: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every stack of each mode, informational rules included (tests/template_sets.py lints each
    distinct template text once per run)."""
    stacks = rendered(tmp_path_factory, variant)
    assert {"infrastructure", "frontend", *SERVICES} <= set(stacks)
    for stack in stacks:
        matches = cfn_lint_findings(tmp_path_factory, VARIANTS[variant], stack)
        assert not matches, f"{stack}: " + "\n".join(matches)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rendered_variants_pass_checkov(variant: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The committed templates are checked by test_templates_lint; these modes exist only rendered.
    checkov runs once per test run over every set (tests/template_sets.py)."""
    failed, passed, stderr = checkov_findings(tmp_path_factory, VARIANTS[variant])
    assert not failed, failed
    assert passed > 50, f"checkov checked suspiciously little ({passed} passed): {stderr}"


def test_infrastructure_refuses_a_region_it_was_not_generated_for(every_mode: Templates) -> None:
    """Zone IDs and the prefix list id are per region; `--region` elsewhere fails before any change."""
    (assertion,) = every_mode["infrastructure"]["Rules"]["RegionMatchesConfiguration"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
