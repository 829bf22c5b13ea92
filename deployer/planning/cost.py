"""Idle monthly cost of each stack, read from its CloudFormation template: `deploy.py --cost`.

Only what a stack costs while it stands still is counted: hourly resources (NAT gateway or NAT
instance, load balancer, public IPv4, Fargate tasks at their minimum count, on demand or Spot, x86
or arm64, for the hours their schedule keeps them up, interface endpoints) and flat monthly fees.
Prices are per region (prices.json: a base table plus one per common region; an unknown region
gets the base table and a warning). Usage-based charges (data processed, requests, log ingestion) are listed as notes,
because a template says nothing about traffic. Pure: templates and prices in, report out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deployer.planning.cost_hours import weekly_profile
from deployer.planning.prices import Prices

Template = Mapping[str, Any]


@dataclass(frozen=True)
class CostLine:
    item: str
    resource: str  # logical ID
    quantity: float
    unit: str
    unit_usd: float

    @property
    def monthly_usd(self) -> float:
        return self.quantity * self.unit_usd


@dataclass(frozen=True)
class StackCost:
    stack: str
    lines: tuple[CostLine, ...]
    notes: tuple[str, ...] = ()

    @property
    def monthly_usd(self) -> float:
        return sum(line.monthly_usd for line in self.lines)


@dataclass(frozen=True)
class CostReport:
    stacks: tuple[StackCost, ...]
    prices: Prices

    @property
    def monthly_usd(self) -> float:
        return sum(s.monthly_usd for s in self.stacks)


@dataclass
class _Ctx:
    """What a resource's estimator may look at besides the resource itself."""

    template: Template
    prices: Prices
    notes: list[str] = field(default_factory=list)

    def line(self, item: str, resource: str, quantity: float, rate: str) -> CostLine:
        return CostLine(item, resource, quantity, self.prices.units[rate], self.prices.rates[rate])

    def hourly(self, item: str, resource: str, count: float, rate: str) -> CostLine:
        return self.line(item, resource, count * self.prices.hours_per_month, rate)

    def resources(self, rtype: str) -> dict[str, Mapping[str, Any]]:
        return {k: r for k, r in self.template.get("Resources", {}).items() if r.get("Type") == rtype}


# (logical ID, Properties, context) -> the resource's lines; notes go to the context.
Estimator = Callable[[str, Mapping[str, Any], _Ctx], list[CostLine]]


def _number(value: Any, template: Template) -> float | None:
    """A literal number, a numeric string, or a Ref to a parameter with a numeric Default."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        value = template.get("Parameters", {}).get(value["Ref"], {}).get("Default")
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _size(value: Any, template: Template, per_unit: float, unit_word: str) -> float | None:
    """ECS task sizes: "256" CPU units / "512" MiB, or "0.25 vCPU" / "1 GB"."""
    pattern = rf"\s*(\d+(?:\.\d+)?)\s*{unit_word}\s*"
    if isinstance(value, str) and (m := re.fullmatch(pattern, value, re.IGNORECASE)):
        return float(m.group(1))
    n = _number(value, template)
    return None if n is None else n / per_unit


def _refers_to(value: Any, logical_id: str) -> bool:
    """Whether an intrinsic-function tree names a resource (Ref, GetAtt, ${Id.Attr} in Sub).

    Logical IDs are alphanumeric, so a whole-word match in the serialized tree finds every form.
    """
    word = rf"(?<![A-Za-z0-9]){re.escape(logical_id)}(?![A-Za-z0-9])"
    return re.search(word, json.dumps(value)) is not None


def _scaling_target(service_id: str, ctx: _Ctx) -> Mapping[str, Any] | None:
    targets = [
        t["Properties"] for t in ctx.resources("AWS::ApplicationAutoScaling::ScalableTarget").values()
        if t["Properties"].get("ScalableDimension") == "ecs:service:DesiredCount"
        and _refers_to(t["Properties"].get("ResourceId"), service_id)
    ]
    return targets[0] if targets else None


def _task_count(service_id: str, props: Mapping[str, Any], ctx: _Ctx) -> float:
    """DesiredCount, else the autoscaling floor that owns it, else CloudFormation's default of 1."""
    if "DesiredCount" in props and (n := _number(props["DesiredCount"], ctx.template)) is not None:
        return n
    target = _scaling_target(service_id, ctx)
    if target and (n := _number(target.get("MinCapacity"), ctx.template)) is not None:
        return n
    ctx.notes.append(f"{service_id}: no DesiredCount or scaling floor found; assumed 1 task")
    return 1.0


def _task_hours(service_id: str, props: Mapping[str, Any], ctx: _Ctx) -> tuple[list[tuple[float, float]], bool]:
    """[(hours a month, tasks)] and whether a schedule shaped it: around the clock at the floor,
    or one entry per stretch between two scheduled actions."""
    tasks = _task_count(service_id, props, ctx)
    around_the_clock = [(ctx.prices.hours_per_month, tasks)]
    actions = (_scaling_target(service_id, ctx) or {}).get("ScheduledActions") or []
    if not actions or "DesiredCount" in props:
        return around_the_clock, False
    profile = weekly_profile(actions)
    if profile is None:
        ctx.notes.append(f"{service_id}: scheduled actions not in the form cron(M H ? * DAYS *); "
                         "priced around the clock")
        return around_the_clock, False
    weeks = ctx.prices.hours_per_month / (7 * 24)
    return [(hours * weeks, floor) for hours, floor in profile if floor > 0], True


def _providers(props: Mapping[str, Any]) -> list[tuple[str, float, float]]:
    """(provider, base, weight) of the service's strategy; no strategy or LaunchType: on demand."""
    items = props.get("CapacityProviderStrategy") or [{"CapacityProvider": "FARGATE", "Weight": 1}]
    return [(i.get("CapacityProvider", "FARGATE"), float(i.get("Base", 0)), float(i.get("Weight", 0))) for i in items]


def split_tasks(tasks: float, providers: list[tuple[str, float, float]]) -> dict[str, float]:
    """ECS's placement: each provider's base first, the rest in proportion to the weights."""
    share = dict.fromkeys((p for p, _, _ in providers), 0.0)
    left = tasks
    for name, base, _ in providers:
        share[name] += min(base, left)
        left -= min(base, left)
    total = sum(w for _, _, w in providers) or 1.0
    for name, _, weight in providers:
        share[name] += left * weight / total
    return share


def _fargate_rates(provider: str, arm: bool) -> tuple[str, str, str]:
    if provider == "FARGATE_SPOT":
        return "Fargate Spot", "fargate_spot_vcpu_hour", "fargate_spot_gb_hour"
    if arm:
        return "Fargate arm64", "fargate_arm_vcpu_hour", "fargate_arm_gb_hour"
    return "Fargate", "fargate_vcpu_hour", "fargate_gb_hour"


def _ecs_service(lid: str, props: Mapping[str, Any], ctx: _Ctx) -> list[CostLine]:
    ref = props.get("TaskDefinition")
    task = ctx.template["Resources"].get(ref.get("Ref")) if isinstance(ref, dict) else None
    if props.get("LaunchType", "FARGATE") != "FARGATE" or task is None:
        ctx.notes.append(f"{lid}: not a Fargate service with a task definition in this template; not priced")
        return []
    tprops = task.get("Properties", {})
    vcpu = _size(tprops.get("Cpu"), ctx.template, 1024, "vcpu")
    gb = _size(tprops.get("Memory"), ctx.template, 1024, "gb")
    if vcpu is None or gb is None:
        ctx.notes.append(f"{lid}: task Cpu/Memory are not literal sizes; not priced")
        return []
    arm = tprops.get("RuntimePlatform", {}).get("CpuArchitecture") == "ARM64"
    lines: list[CostLine] = []
    stretches, is_scheduled = _task_hours(lid, props, ctx)
    scheduled = ", by schedule" if is_scheduled else ""
    for provider in _providers(props):
        name = provider[0]
        task_hours = sum(h * split_tasks(n, _providers(props))[name] for h, n in stretches)
        if task_hours == 0:
            continue
        label, cpu_rate, gb_rate = _fargate_rates(name, arm)
        size = f"{vcpu:g} vCPU / {gb:g} GB x {task_hours:,.1f} task-h{scheduled}"
        lines += [ctx.line(f"{label} vCPU ({size})", lid, task_hours * vcpu, cpu_rate),
                  ctx.line(f"{label} memory ({size})", lid, task_hours * gb, gb_rate)]
    awsvpc = props.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
    if awsvpc.get("AssignPublicIp") == "ENABLED":
        hours = sum(h * n for h, n in stretches)
        lines.append(ctx.line("Public IPv4 (one per running task)", lid, hours, "public_ipv4_hour"))
    return lines


def _az_count(props: Mapping[str, Any], key: str, ctx: _Ctx, lid: str) -> float:
    value = props.get(key, props.get("SubnetMappings"))
    if isinstance(value, list):
        return float(len(value))
    assumed = ctx.prices.assumptions["default_az_count"]
    ctx.notes.append(f"{lid}: {key} is not a literal list; assumed {assumed:g} AZs")
    return assumed


def _load_balancer(lid: str, props: Mapping[str, Any], ctx: _Ctx) -> list[CostLine]:
    if props.get("Type", "application") != "application":
        ctx.notes.append(f"{lid}: only application load balancers are priced")
        return []
    a = ctx.prices.assumptions
    lcu = a["alb_idle_lcu"]
    lines = [ctx.hourly("Application Load Balancer", lid, 1, "alb_hour"),
             ctx.hourly(f"ALB capacity ({lcu:g} LCU assumed)", lid, lcu, "alb_lcu_hour")]
    if props.get("Scheme", "internet-facing") == "internet-facing":
        azs = _az_count(props, "Subnets", ctx, lid)
        ips = azs * a["alb_public_ipv4_per_az"]
        lines.append(ctx.hourly(f"ALB public IPv4 ({azs:g} AZ x {a['alb_public_ipv4_per_az']:g} assumed)",
                                lid, ips, "public_ipv4_hour"))
    else:
        # edge = "vpc-origin": CloudFront reaches the ALB from inside the VPC, so it holds no public address.
        ctx.notes.append(f"{lid}: internal load balancer, no public IPv4 addresses to pay for")
    return lines


def _vpc_endpoint(lid: str, props: Mapping[str, Any], ctx: _Ctx) -> list[CostLine]:
    kind = props.get("VpcEndpointType", "Gateway")
    if kind == "Gateway":
        return [ctx.line("VPC gateway endpoint", lid, 1, "gateway_endpoint_month")]
    if kind == "Interface":
        return [ctx.hourly("VPC interface endpoint (per AZ)", lid, _az_count(props, "SubnetIds", ctx, lid),
                           "interface_endpoint_az_hour")]
    ctx.notes.append(f"{lid}: {kind} endpoints are not priced")
    return []


def _cluster(lid: str, props: Mapping[str, Any], ctx: _Ctx) -> list[CostLine]:
    settings = {s.get("Name"): s.get("Value") for s in props.get("ClusterSettings", [])}
    if settings.get("containerInsights") in ("enabled", "enhanced"):
        ctx.notes.append(f"{lid}: Container Insights metrics are billed per metric; not included")
    return []


def _flat(item: str, rate: str, quantity: str | None = None) -> Estimator:
    """A fixed monthly fee, optionally times an assumed quantity (GB stored)."""

    def estimate_one(lid: str, props: Mapping[str, Any], ctx: _Ctx) -> list[CostLine]:
        amount = ctx.prices.assumptions[quantity] if quantity else 1.0
        label = f"{item} ({amount:g} GB assumed)" if quantity else item
        return [ctx.line(label, lid, amount, rate)]

    return estimate_one


def _auto_scaling_group(lid: str, props: Mapping[str, Any], ctx: _Ctx) -> list[CostLine]:
    """An EC2 group at its floor (the NAT instance): instances, their volumes and public addresses."""
    count = _number(props.get("MinSize"), ctx.template) or 0.0
    ref = (props.get("LaunchTemplate") or {}).get("LaunchTemplateId")
    lt = ctx.template["Resources"].get(ref.get("Ref")) if isinstance(ref, dict) else None
    if lt is None:
        ctx.notes.append(f"{lid}: no launch template in this template; not priced")
        return []
    data = lt.get("Properties", {}).get("LaunchTemplateData", {})
    itype = str(data.get("InstanceType"))
    rate = f"ec2_{itype.replace('.', '_')}_hour"
    lines = []
    if rate in ctx.prices.rates:
        lines.append(ctx.hourly(f"EC2 {itype} (Linux, on demand)", lid, count, rate))
    else:
        ctx.notes.append(f"{lid}: instance type {itype} is not in the price table; not priced")
    for mapping in data.get("BlockDeviceMappings", []):
        ebs = mapping.get("Ebs", {})
        if ebs.get("VolumeType") == "gp3" and (gb := _number(ebs.get("VolumeSize"), ctx.template)):
            lines.append(ctx.line(f"EBS gp3 volume ({gb:g} GB)", lid, count * gb, "ebs_gp3_gb_month"))
    if any(n.get("AssociatePublicIpAddress") for n in data.get("NetworkInterfaces", [])):
        lines.append(ctx.hourly("Public IPv4 (instance's primary interface)", lid, count, "public_ipv4_hour"))
    return lines


def _user_pool(lid: str, props: Mapping[str, Any], ctx: _Ctx) -> list[CostLine]:
    tier = props.get("UserPoolTier", "ESSENTIALS")  # AWS's default plan
    free = "no free tier" if tier == "PLUS" else "the first 10,000 a month per account free"
    ctx.notes.append(f"{lid}: Cognito {tier} is billed per monthly active user ({free}); nothing at idle")
    return []


def _budget(lid: str, props: Mapping[str, Any], ctx: _Ctx) -> list[CostLine]:
    return [ctx.line("AWS Budgets budget (per day)", lid, ctx.prices.hours_per_month / 24, "budget_day")]


def _web_acl(lid: str, props: Mapping[str, Any], ctx: _Ctx) -> list[CostLine]:
    """WAF bills the web ACL and each of its rules monthly (a managed rule group counts as one rule)."""
    rules = props.get("Rules", [])
    count = float(len(rules)) if isinstance(rules, list) else 0.0
    return [ctx.line("WAF web ACL", lid, 1, "waf_web_acl_month"),
            ctx.line(f"WAF rules ({count:g})", lid, count, "waf_rule_month")]


ESTIMATORS: dict[str, Estimator] = {
    # The NAT's address is its AWS::EC2::EIP, priced below: never count it twice.
    "AWS::EC2::NatGateway": lambda lid, p, ctx: [ctx.hourly("NAT gateway", lid, 1, "nat_gateway_hour")],
    "AWS::EC2::EIP": lambda lid, p, ctx: [ctx.hourly("Elastic IP (public IPv4)", lid, 1, "public_ipv4_hour")],
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _load_balancer,
    "AWS::ECS::Service": _ecs_service,
    "AWS::AutoScaling::AutoScalingGroup": _auto_scaling_group,
    "AWS::EC2::VPCEndpoint": _vpc_endpoint,
    "AWS::CloudFront::Distribution": _flat("CloudFront distribution (idle: within free tier)",
                                           "cloudfront_distribution_month"),
    "AWS::CloudFront::VpcOrigin": _flat("CloudFront VPC origin (no charge of its own)", "cloudfront_vpc_origin_month"),
    "AWS::S3::Bucket": _flat("S3 Standard storage", "s3_standard_gb_month", "s3_bucket_gb"),
    "AWS::ECR::Repository": _flat("ECR image storage", "ecr_storage_gb_month", "ecr_repository_gb"),
    "AWS::ECS::Cluster": _cluster,
    "AWS::CloudWatch::Alarm": _flat("CloudWatch alarm (standard resolution)", "cloudwatch_alarm_month"),
    "AWS::KMS::Key": _flat("KMS customer managed key", "kms_key_month"),
    "AWS::Budgets::Budget": _budget,
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::WAFv2::WebACL": _web_acl,
}

# Charged by use, so absent from an idle figure; named so nobody mistakes the total for a bill.
USAGE_NOTES = {
    "AWS::EC2::NatGateway": "NAT gateway data processing (per GB) not included",
    "AWS::AutoScaling::AutoScalingGroup": "EC2 data transfer out to the internet (per GB) not included",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "ALB LCUs above the assumed idle level not included",
    "AWS::Logs::LogGroup": "CloudWatch Logs ingestion and storage (per GB) not included",
    "AWS::CloudFront::Distribution": "CloudFront transfer/requests beyond the free tier not included",
    "AWS::CloudWatch::Alarm": "CloudWatch: the first 10 alarms per account are free; counted here at full price",
    "AWS::Budgets::Budget": "AWS Budgets: the first two budgets per account are free; counted here at full price",
    "AWS::SNS::Topic": "SNS e-mail notifications beyond 1,000 a month not included",
    "AWS::WAFv2::WebACL": "WAF requests (per million inspected, waf_million_requests in prices.json) not included",
    # access_logs / flow_logs (issue 11): their bucket and log group are counted above; the volume is not.
    "AWS::EC2::FlowLog": "VPC flow logs: CloudWatch Logs vended-log ingestion and storage (per GB) not included",
}


def _expiring(estimator: Estimator) -> Estimator:
    """A bucket whose objects expire holds logs (access_logs): their volume is usage, named as such."""

    def estimate_one(lid: str, props: Mapping[str, Any], ctx: _Ctx) -> list[CostLine]:
        rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
        days = next((r["ExpirationInDays"] for r in rules if "ExpirationInDays" in r), None)
        if days is not None:
            ctx.notes.append(f"{lid}: log objects kept {days} days; their volume (per GB, PUT requests) not included")
        return estimator(lid, props, ctx)

    return estimate_one


ESTIMATORS["AWS::S3::Bucket"] = _expiring(ESTIMATORS["AWS::S3::Bucket"])


def estimate_stack(stack: str, template: Template, prices: Prices) -> StackCost:
    ctx = _Ctx(template, prices)
    lines: list[CostLine] = []
    for lid, resource in template.get("Resources", {}).items():
        rtype = resource.get("Type", "")
        if rtype in ESTIMATORS:
            lines += ESTIMATORS[rtype](lid, resource.get("Properties", {}), ctx)
        if rtype in USAGE_NOTES and USAGE_NOTES[rtype] not in ctx.notes:
            ctx.notes.append(USAGE_NOTES[rtype])
    return StackCost(stack, tuple(lines), tuple(ctx.notes))


def estimate(templates: Mapping[str, Template], prices: Prices) -> CostReport:
    """One StackCost per template, in the order given (deploy order reads best)."""
    return CostReport(tuple(estimate_stack(s, t, prices) for s, t in templates.items()), prices)
