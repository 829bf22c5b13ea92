"""--cost (planning/cost.py, planning/prices.py, presentation/cost_report.py): idle monthly cost per stack,
checked against figures worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deployer.planning.cost import estimate, estimate_stack
from deployer.planning.prices import RATES, Prices, load_prices
from deployer.presentation.cost_report import format_report, report_to_json

ROOT = Path(__file__).resolve().parents[1]
STACKS = ("infrastructure", "registry", "app-api", "inference-api", "frontend")

# Round numbers so every expected figure below can be checked with pencil and paper.
PRICES = Prices(
    region="us-east-1", as_of="test", source="test", hours_per_month=730,
    rates={
        "nat_gateway_hour": 0.05, "alb_hour": 0.02, "alb_lcu_hour": 0.01, "public_ipv4_hour": 0.005,
        "fargate_vcpu_hour": 0.04, "fargate_gb_hour": 0.004, "fargate_arm_vcpu_hour": 0.03,
        "fargate_arm_gb_hour": 0.003, "fargate_spot_vcpu_hour": 0.012, "fargate_spot_gb_hour": 0.0012,
        "ec2_t4g_nano_hour": 0.004, "ebs_gp3_gb_month": 0.08, "interface_endpoint_az_hour": 0.01,
        "gateway_endpoint_month": 0.0,
        "cloudfront_distribution_month": 0.0, "cloudfront_vpc_origin_month": 0.0, "s3_standard_gb_month": 0.02,
        "ecr_storage_gb_month": 0.1,
        "cloudwatch_alarm_month": 0.1, "kms_key_month": 1.0, "budget_day": 0.02,
        "waf_web_acl_month": 5.0, "waf_rule_month": 1.0, "waf_million_requests": 0.6,
    },
    units={k: "unit" for k in RATES},
    assumptions={"alb_public_ipv4_per_az": 2, "alb_idle_lcu": 1, "default_az_count": 2, "s3_bucket_gb": 1,
                 "ecr_repository_gb": 1},
)


def res(rtype: str, **props: Any) -> dict[str, Any]:
    return {"Type": rtype, "Properties": props}


def network(nat: bool = True) -> dict[str, Any]:
    resources = {
        "Alb": res("AWS::ElasticLoadBalancingV2::LoadBalancer", Scheme="internet-facing",
                   Subnets=[{"Ref": "PublicSubnet1"}, {"Ref": "PublicSubnet2"}]),
        "S3Endpoint": res("AWS::EC2::VPCEndpoint", VpcEndpointType="Gateway"),
        "Vpc": res("AWS::EC2::VPC", CidrBlock="10.0.0.0/16"),
    }
    if nat:
        resources["NatEip"] = res("AWS::EC2::EIP", Domain="vpc")
        eip = {"Fn::GetAtt": ["NatEip", "AllocationId"]}
        resources["Nat"] = res("AWS::EC2::NatGateway", AllocationId=eip)
    return {"Resources": resources}


def service(desired: Any = None, public_ip: bool = False, arm: bool = False) -> dict[str, Any]:
    svc: dict[str, Any] = {
        "TaskDefinition": {"Ref": "Task"},
        "Cluster": {"Ref": "ClusterName"},
        "NetworkConfiguration": {"AwsvpcConfiguration": {
            "AssignPublicIp": "ENABLED" if public_ip else "DISABLED", "Subnets": {"Ref": "Subnets"}}},
    }
    if desired is not None:
        svc["DesiredCount"] = desired
    task = res("AWS::ECS::TaskDefinition", Cpu="256", Memory="512", RequiresCompatibilities=["FARGATE"])
    if arm:
        task["Properties"]["RuntimePlatform"] = {"CpuArchitecture": "ARM64"}
    return {
        # SSM-typed parameters stay unresolved: the estimate never needs their values.
        "Parameters": {"Subnets": {"Type": "AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>",
                                   "Default": "/p/network/private-subnet-ids"}},
        "Resources": {
            "Task": task,
            "Service": res("AWS::ECS::Service", **svc),
            "ScalableTarget": res("AWS::ApplicationAutoScaling::ScalableTarget", MinCapacity=2, MaxCapacity=4,
                                  ScalableDimension="ecs:service:DesiredCount",
                                  ResourceId={"Fn::Sub": "service/${ClusterName}/${Service.Name}"}),
            "Logs": res("AWS::Logs::LogGroup", RetentionInDays=14),
        },
    }


def monthly(stack: dict[str, Any]) -> float:
    return estimate_stack("s", stack, PRICES).monthly_usd


def test_network_arithmetic() -> None:
    cost = estimate_stack("infrastructure", network(), PRICES)
    by_item = {line.item.split(" (")[0]: line.monthly_usd for line in cost.lines}
    assert by_item["NAT gateway"] == pytest.approx(730 * 0.05)  # 36.50
    assert by_item["Elastic IP"] == pytest.approx(730 * 0.005)  # 3.65
    assert by_item["Application Load Balancer"] == pytest.approx(730 * 0.02)  # 14.60
    assert by_item["ALB capacity"] == pytest.approx(730 * 0.01)  # 7.30: one idle LCU
    assert by_item["ALB public IPv4"] == pytest.approx(2 * 2 * 730 * 0.005)  # 14.60: 2 AZs x 2 addresses
    assert by_item["VPC gateway endpoint"] == 0
    assert cost.monthly_usd == pytest.approx(36.5 + 3.65 + 14.6 + 7.3 + 14.6)
    assert any("NAT gateway data processing" in n for n in cost.notes)


def test_a_template_without_nat_costs_less_by_the_nat_and_its_address() -> None:
    assert monthly(network(nat=True)) - monthly(network(nat=False)) == pytest.approx(36.5 + 3.65)


def test_internal_load_balancer_has_no_public_addresses() -> None:
    t = network(nat=False)
    t["Resources"]["Alb"]["Properties"]["Scheme"] = "internal"
    assert monthly(t) == pytest.approx(14.6 + 7.3)
    cost = estimate_stack("infrastructure", t, PRICES)
    assert not any("IPv4" in line.item for line in cost.lines)
    assert "Alb: internal load balancer, no public IPv4 addresses to pay for" in cost.notes


def test_vpc_origin_is_listed_at_no_charge_of_its_own() -> None:
    t = {"Resources": {"ApiVpcOrigin": res("AWS::CloudFront::VpcOrigin", VpcOriginEndpointConfig={})}}
    cost = estimate_stack("frontend", t, PRICES)
    assert [(line.resource, line.quantity, line.monthly_usd) for line in cost.lines] == [("ApiVpcOrigin", 1.0, 0.0)]


def edge_templates(tmp_path: Path, **keys: str) -> dict[str, Any]:
    from edge_support import dev_config

    from generators.config import load_config
    from generators.synth import stack_builders

    config = tmp_path / f"{keys.get('edge', 'default')}.toml"
    config.write_text(dev_config(**keys))
    cfg = load_config(config, "dev")
    return {stack: json.loads(json.dumps(build(cfg).to_dict())) for stack, build in stack_builders(cfg).items()}


def test_edge_mode_changes_exactly_the_load_balancers_public_addresses(tmp_path: Path) -> None:
    """vpc-origin (the default) saves the ALB's public IPv4 addresses; nothing else differs in cost."""
    from edge_support import DOMAIN

    private = estimate(edge_templates(tmp_path, edge="vpc-origin"), PRICES)
    public = estimate(edge_templates(tmp_path, edge="public-alb", **DOMAIN), PRICES)
    # 2 AZs x 2 addresses (the assumption) x 730 h x 0.005 = 14.60
    assert public.monthly_usd - private.monthly_usd == pytest.approx(2 * 2 * 730 * 0.005)
    public_lines = [line.item for s in public.stacks for line in s.lines]
    private_lines = [line.item for s in private.stacks for line in s.lines]
    assert [i for i in public_lines if i not in private_lines] == ["ALB public IPv4 (2 AZ x 2 assumed)"]
    assert [i for i in private_lines if i not in public_lines] == ["CloudFront VPC origin (no charge of its own)"]


def test_fargate_uses_the_autoscaling_floor_when_desired_count_is_absent() -> None:
    cost = estimate_stack("app-api", service(), PRICES)
    # 2 tasks x 0.25 vCPU x 730 h x 0.04 = 14.60; 2 x 0.5 GB x 730 h x 0.004 = 2.92
    assert [round(line.monthly_usd, 2) for line in cost.lines] == [14.6, 2.92]
    assert [line.quantity for line in cost.lines] == [365.0, 730.0]
    assert any("CloudWatch Logs" in n for n in cost.notes)


def test_fargate_desired_count_wins_and_may_be_a_parameter_default() -> None:
    assert monthly(service(desired=1)) == pytest.approx(7.3 + 1.46)
    t = service(desired={"Ref": "Count"})
    t["Parameters"]["Count"] = {"Type": "Number", "Default": "3"}
    assert monthly(t) == pytest.approx(3 * (7.3 + 1.46))


def test_fargate_public_ip_and_arm_pricing() -> None:
    assert monthly(service(desired=1, public_ip=True)) == pytest.approx(7.3 + 1.46 + 3.65)
    assert monthly(service(desired=1, arm=True)) == pytest.approx(0.25 * 730 * 0.03 + 0.5 * 730 * 0.003)


def test_fargate_sizes_written_in_vcpu_and_gb() -> None:
    t = service(desired=1)
    t["Resources"]["Task"]["Properties"].update(Cpu="1 vCPU", Memory="2 GB")
    assert monthly(t) == pytest.approx(730 * 0.04 + 2 * 730 * 0.004)


def test_service_without_count_or_target_assumes_one_task_and_says_so() -> None:
    t = service()
    del t["Resources"]["ScalableTarget"]
    cost = estimate_stack("s", t, PRICES)
    assert cost.monthly_usd == pytest.approx(7.3 + 1.46)
    assert any("assumed 1 task" in n for n in cost.notes)


def test_interface_endpoint_is_priced_per_az() -> None:
    endpoint = res("AWS::EC2::VPCEndpoint", VpcEndpointType="Interface", SubnetIds=["a", "b"])
    t = {"Resources": {"Ecr": endpoint}}
    assert monthly(t) == pytest.approx(2 * 730 * 0.01)


def test_frontend_minimums_and_unknown_resources_ignored() -> None:
    t = {"Resources": {
        "Bucket": res("AWS::S3::Bucket"),
        "Cdn": res("AWS::CloudFront::Distribution", DistributionConfig={}),
        "Topic": res("AWS::SNS::Topic"),
        "Custom": {"Type": "Custom::Thing"},
    }}
    cost = estimate_stack("frontend", t, PRICES)
    assert [line.resource for line in cost.lines] == ["Bucket", "Cdn"]
    assert cost.monthly_usd == pytest.approx(0.02)  # 1 GB assumed at 0.02; CloudFront idle is free


def test_estimate_report_json_shape_and_totals() -> None:
    report = estimate({"infrastructure": network(), "app-api": service(), "empty": {}}, PRICES)
    doc = report_to_json(report)
    json.dumps(doc)  # serializable as is
    assert list(doc["stacks"]) == ["infrastructure", "app-api", "empty"]
    assert doc["region"] == "us-east-1" and doc["currency"] == "USD" and doc["hours_per_month"] == 730
    assert doc["stacks"]["empty"] == {"lines": [], "notes": [], "monthly_usd": 0}
    line = doc["stacks"]["app-api"]["lines"][0]
    assert set(line) == {"item", "resource", "quantity", "unit", "unit_usd", "monthly_usd"}
    assert doc["stacks"]["app-api"]["monthly_usd"] == pytest.approx(17.52)
    assert doc["total_monthly_usd"] == pytest.approx(76.65 + 17.52)
    assert doc["total_monthly_usd"] == round(sum(s["monthly_usd"] for s in doc["stacks"].values()), 2)


def test_format_report_is_an_aligned_table_with_totals() -> None:
    text = format_report(estimate({"infrastructure": network(), "app-api": service()}, PRICES))
    lines = text.splitlines()
    total = next(ln for ln in lines if ln.startswith("TOTAL"))
    assert total.endswith("94.17")
    assert lines[lines.index(total) + 2].startswith("What the options change here (us-east-1, per month):")
    assert any(ln.strip().startswith("app-api total") and ln.endswith("17.52") for ln in lines)
    table = [ln for ln in lines[:lines.index(total)] if ln.startswith("  ") and not ln.startswith("  note")]
    assert len({len(ln) for ln in table}) == 1, "every table row and subtotal has the same width"


def test_price_table_states_region_date_and_source() -> None:
    raw = json.loads((ROOT / "deployer" / "planning" / "prices.json").read_text(encoding="utf-8"))
    assert raw["region"] == "us-east-1" and raw["hours_per_month"] == 730
    assert raw["prices_as_of"] and raw["source"]
    assert all(rate["source"].startswith("https://aws.amazon.com/") for rate in raw["rates"].values())
    prices = load_prices()
    assert prices.rates["nat_gateway_hour"] > 0 and prices.assumptions["alb_public_ipv4_per_az"] >= 1


def test_incomplete_price_table_is_rejected() -> None:
    with pytest.raises(ValueError, match="nat_gateway_hour"):
        Prices(region="x", as_of="x", source="x", hours_per_month=730, rates={}, units={}, assumptions={})


@pytest.mark.skipif(not (ROOT / "templates" / "dev").is_dir(), reason="templates/dev not generated yet")
def test_committed_dev_templates_are_all_estimated() -> None:
    templates = {s: json.loads((ROOT / "templates" / "dev" / f"{s}.json").read_text()) for s in STACKS}
    report = estimate(templates, load_prices())
    assert [s.stack for s in report.stacks] == list(STACKS)
    by_stack = {s.stack: s for s in report.stacks}
    assert by_stack["infrastructure"].monthly_usd > 0
    for svc in ("app-api", "inference-api"):
        assert any(line.item.startswith("Fargate Spot vCPU") for line in by_stack[svc].lines), svc
    assert "TOTAL" in format_report(report)
