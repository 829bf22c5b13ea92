"""Idle monthly cost of each stack, read from its CloudFormation template: `deploy.py --cost`.

Only what a stack costs while it stands still is counted: hourly resources (NAT gateway, load
balancer, public IPv4, Fargate tasks at their minimum count, interface endpoints) and flat
monthly fees. Usage-based charges (data processed, requests, log ingestion) are listed as notes,
because a template says nothing about traffic. Pure: templates and prices in, report out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRICES_PATH = Path(__file__).with_name("prices.json")
Template = Mapping[str, Any]

RATES = (
    "nat_gateway_hour", "alb_hour", "alb_lcu_hour", "public_ipv4_hour", "fargate_vcpu_hour",
    "fargate_gb_hour", "fargate_arm_vcpu_hour", "fargate_arm_gb_hour", "interface_endpoint_az_hour",
    "gateway_endpoint_month", "cloudfront_distribution_month", "cloudfront_vpc_origin_month",
    "s3_standard_gb_month", "ecr_storage_gb_month",
    "cloudwatch_alarm_month", "kms_key_month", "budget_day",
)
ASSUMPTIONS = (
    "alb_public_ipv4_per_az", "alb_idle_lcu", "default_az_count", "s3_bucket_gb", "ecr_repository_gb",
)


@dataclass(frozen=True)
class Prices:
    region: str
    as_of: str
    source: str
    hours_per_month: float
    rates: Mapping[str, float]  # USD per unit
    units: Mapping[str, str]
    assumptions: Mapping[str, float]

    def __post_init__(self) -> None:
        missing = [k for k in RATES if k not in self.rates]
        missing += [k for k in ASSUMPTIONS if k not in self.assumptions]
        if missing:
            raise ValueError(f"price table lacks: {', '.join(missing)}")


def load_prices(path: Path = PRICES_PATH) -> Prices:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Prices(
        region=raw["region"],
        as_of=raw["prices_as_of"],
        source=raw["source"],
        hours_per_month=float(raw["hours_per_month"]),
        rates={k: float(v["usd"]) for k, v in raw["rates"].items()},
        units={k: v["unit"] for k, v in raw["rates"].items()},
        assumptions={k: float(v["value"]) for k, v in raw["assumptions"].items()},
    )


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


def _task_count(service_id: str, props: Mapping[str, Any], ctx: _Ctx) -> float:
    """DesiredCount, else the autoscaling floor that owns it, else CloudFormation's default of 1."""
    if "DesiredCount" in props and (n := _number(props["DesiredCount"], ctx.template)) is not None:
        return n
    targets = [
        t["Properties"] for t in ctx.resources("AWS::ApplicationAutoScaling::ScalableTarget").values()
        if t["Properties"].get("ScalableDimension") == "ecs:service:DesiredCount"
        and _refers_to(t["Properties"].get("ResourceId"), service_id)
    ]
    if targets and (n := _number(targets[0].get("MinCapacity"), ctx.template)) is not None:
        return n
    ctx.notes.append(f"{service_id}: no DesiredCount or scaling floor found; assumed 1 task")
    return 1.0


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
    tasks = _task_count(lid, props, ctx)
    arch = "_arm" if tprops.get("RuntimePlatform", {}).get("CpuArchitecture") == "ARM64" else ""
    cpu_rate, gb_rate = f"fargate{arch}_vcpu_hour", f"fargate{arch}_gb_hour"
    size = f"{tasks:g} task x {vcpu:g} vCPU / {gb:g} GB"
    lines = [ctx.hourly(f"Fargate vCPU ({size})", lid, tasks * vcpu, cpu_rate),
             ctx.hourly(f"Fargate memory ({size})", lid, tasks * gb, gb_rate)]
    awsvpc = props.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
    if awsvpc.get("AssignPublicIp") == "ENABLED":
        lines.append(ctx.hourly("Public IPv4 (one per task)", lid, tasks, "public_ipv4_hour"))
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


def _user_pool(lid: str, props: Mapping[str, Any], ctx: _Ctx) -> list[CostLine]:
    tier = props.get("UserPoolTier", "ESSENTIALS")  # AWS's default plan
    free = "no free tier" if tier == "PLUS" else "the first 10,000 a month per account free"
    ctx.notes.append(f"{lid}: Cognito {tier} is billed per monthly active user ({free}); nothing at idle")
    return []


def _budget(lid: str, props: Mapping[str, Any], ctx: _Ctx) -> list[CostLine]:
    return [ctx.line("AWS Budgets budget (per day)", lid, ctx.prices.hours_per_month / 24, "budget_day")]


ESTIMATORS: dict[str, Estimator] = {
    # The NAT's address is its AWS::EC2::EIP, priced below: never count it twice.
    "AWS::EC2::NatGateway": lambda lid, p, ctx: [ctx.hourly("NAT gateway", lid, 1, "nat_gateway_hour")],
    "AWS::EC2::EIP": lambda lid, p, ctx: [ctx.hourly("Elastic IP (public IPv4)", lid, 1, "public_ipv4_hour")],
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _load_balancer,
    "AWS::ECS::Service": _ecs_service,
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
}

# Charged by use, so absent from an idle figure; named so nobody mistakes the total for a bill.
USAGE_NOTES = {
    "AWS::EC2::NatGateway": "NAT gateway data processing (per GB) not included",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "ALB LCUs above the assumed idle level not included",
    "AWS::Logs::LogGroup": "CloudWatch Logs ingestion and storage (per GB) not included",
    "AWS::CloudFront::Distribution": "CloudFront transfer/requests beyond the free tier not included",
    "AWS::CloudWatch::Alarm": "CloudWatch: the first 10 alarms per account are free; counted here at full price",
    "AWS::Budgets::Budget": "AWS Budgets: the first two budgets per account are free; counted here at full price",
    "AWS::SNS::Topic": "SNS e-mail notifications beyond 1,000 a month not included",
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


def _price(usd: float) -> str:
    return f"{usd:.6f}".rstrip("0").rstrip(".")


def format_report(report: CostReport) -> str:
    """One aligned table per stack, its total, its notes, then the grand total."""
    p = report.prices
    header = ("item", "resource", "quantity", "unit", "unit USD", "monthly USD")
    tables = [[(ln.item, ln.resource, f"{ln.quantity:,.2f}", ln.unit, _price(ln.unit_usd),
                f"{ln.monthly_usd:,.2f}") for ln in s.lines] for s in report.stacks]
    every_row = [header, *(row for table in tables for row in table)]
    widths = [max(len(row[i]) for row in every_row) for i in range(len(header))]
    numeric = {2, 4, 5}

    def fmt(cells: tuple[str, ...]) -> str:
        cols = enumerate(zip(cells, widths, strict=True))
        return "  " + "  ".join(c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in cols)

    def total(label: str, usd: float) -> str:
        return label.ljust(len(fmt(header)) - widths[-1]) + f"{usd:,.2f}".rjust(widths[-1])

    out = [f"Estimated idle monthly cost, {p.region}, USD "
           f"({p.hours_per_month:g} h/month, prices as of {p.as_of}; deployer/prices.json)"]
    for stack, rows in zip(report.stacks, tables, strict=True):
        out += ["", stack.stack, fmt(header), *(fmt(r) for r in rows)]
        out.append(total(f"  {stack.stack} total", stack.monthly_usd))
        out += [f"  note: {n}" for n in stack.notes]
    out += ["", total("TOTAL", report.monthly_usd)]
    return "\n".join(out) + "\n"


def report_to_json(report: CostReport) -> dict[str, Any]:
    p = report.prices
    return {
        "region": p.region,
        "currency": "USD",
        "hours_per_month": p.hours_per_month,
        "prices_as_of": p.as_of,
        "assumptions": dict(p.assumptions),
        "stacks": {
            s.stack: {
                "lines": [{"item": ln.item, "resource": ln.resource, "quantity": round(ln.quantity, 4),
                           "unit": ln.unit, "unit_usd": ln.unit_usd, "monthly_usd": round(ln.monthly_usd, 2)}
                          for ln in s.lines],
                "notes": list(s.notes),
                "monthly_usd": round(s.monthly_usd, 2),
            }
            for s in report.stacks
        },
        "total_monthly_usd": round(report.monthly_usd, 2),
    }
