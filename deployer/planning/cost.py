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
from pathlib import Path
from typing import Any

from deployer.planning.cost_hours import weekly_profile

PRICES_PATH = Path(__file__).with_name("prices.json")
Template = Mapping[str, Any]

RATES = (
    "nat_gateway_hour", "alb_hour", "alb_lcu_hour", "public_ipv4_hour", "fargate_vcpu_hour",
    "fargate_gb_hour", "fargate_arm_vcpu_hour", "fargate_arm_gb_hour", "fargate_spot_vcpu_hour",
    "fargate_spot_gb_hour", "ec2_t4g_nano_hour", "ebs_gp3_gb_month", "interface_endpoint_az_hour",
    "gateway_endpoint_month", "cloudfront_distribution_month", "cloudfront_vpc_origin_month",
    "s3_standard_gb_month", "ecr_storage_gb_month",
    "cloudwatch_alarm_month", "kms_key_month", "budget_day",
    "waf_web_acl_month", "waf_rule_month", "waf_million_requests",
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
    warning: str | None = None  # the region has no table of its own: say so on stderr, never fail
    base_rates: tuple[str, ...] = ()  # rates this region's table lacks, taken from the base table

    def __post_init__(self) -> None:
        missing = [k for k in RATES if k not in self.rates]
        missing += [k for k in ASSUMPTIONS if k not in self.assumptions]
        if missing:
            raise ValueError(f"price table lacks: {', '.join(missing)}")


def load_prices(path: Path = PRICES_PATH, region: str | None = None) -> Prices:
    """The base table (`rates`, for `region` in the file) overlaid with `regions[region]`."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    base, tables = raw["region"], raw.get("regions", {})
    region = region or base
    rates = {k: float(v["usd"]) for k, v in raw["rates"].items()}
    warning, regional = None, tables.get(region, {})
    if region != base and region not in tables:
        warning = (f"warning: --cost has no prices for {region}; showing {base} prices instead (regions in "
                   f"deployer/planning/prices.json: {', '.join([base, *sorted(tables)])}; add it with "
                   "python -m deployer.commands.price_refresh --region " + region + ")")
    return Prices(
        region=region if not warning else base,
        as_of=raw["prices_as_of"],
        source=raw["source"],
        hours_per_month=float(raw["hours_per_month"]),
        rates={**rates, **{k: float(v) for k, v in regional.items()}},
        units={k: v["unit"] for k, v in raw["rates"].items()},
        assumptions={k: float(v["value"]) for k, v in raw["assumptions"].items()},
        warning=warning,
        base_rates=tuple(k for k, v in raw["rates"].items()
                         if region != base and not warning and k not in regional and not v.get("global")),
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
           f"({p.hours_per_month:g} h/month, prices as of {p.as_of}; deployer/planning/prices.json)"]
    if p.warning:
        out.append(f"  ({p.warning.removeprefix('warning: ')})")
    for stack, rows in zip(report.stacks, tables, strict=True):
        out += ["", stack.stack, fmt(header), *(fmt(r) for r in rows)]
        out.append(total(f"  {stack.stack} total", stack.monthly_usd))
        out += [f"  note: {n}" for n in stack.notes]
    out += ["", total("TOTAL", report.monthly_usd)]
    out += ["", f"What the options change here ({p.region}, per month):", *(f"  {o}" for o in option_effects(p))]
    if p.base_rates:
        out.append(f"  note: not in the {p.region} table, priced at the base region's rate: {', '.join(p.base_rates)}")
    return "\n".join(out) + "\n"


def _pct(new: float, old: float) -> str:
    return f"{(new - old) / old * 100:+.0f} %" if old else "n/a"


def option_effects(p: Prices) -> list[str]:
    """One line per option of platform.toml, in this region's prices: what it adds or saves."""
    r, h, ip = p.rates, p.hours_per_month, p.rates["public_ipv4_hour"] * p.hours_per_month
    # The example schedule, weekdays 07:00-20:00: 13 h x 5 days = 65 h a week.
    workweek = 65 * h / (7 * 24)
    gateway = r["nat_gateway_hour"] * h
    instance = r["ec2_t4g_nano_hour"] * h + 8 * r["ebs_gp3_gb_month"]
    return [
        f"capacity = \"spot\": Fargate vCPU-hour {_price(r['fargate_vcpu_hour'])} -> "
        f"{_price(r['fargate_spot_vcpu_hour'])} ({_pct(r['fargate_spot_vcpu_hour'], r['fargate_vcpu_hour'])}), "
        f"GB-hour {_price(r['fargate_gb_hour'])} -> {_price(r['fargate_spot_gb_hour'])}; x86_64 only, interruptible",
        f"arch = \"arm64\": vCPU-hour -> {_price(r['fargate_arm_vcpu_hour'])} "
        f"({_pct(r['fargate_arm_vcpu_hour'], r['fargate_vcpu_hour'])}), GB-hour -> "
        f"{_price(r['fargate_arm_gb_hour'])}; on demand only",
        f"schedule weekdays 07:00-20:00: tasks run {workweek:,.1f} h of {h:g} ({_pct(workweek, h)})",
        f"nat = \"single\": NAT gateway {gateway:,.2f} + Elastic IP {ip:,.2f} = {gateway + ip:,.2f}; "
        f"\"instance\": t4g.nano + 8 GB gp3 {instance:,.2f} + public IPv4 {ip:,.2f} = {instance + ip:,.2f}; "
        f"\"none\": 0, but {ip:,.2f} per running task (public IPv4 each)",
        f"edge = \"public-alb\": + one public IPv4 per zone ({ip:,.2f} each); \"vpc-origin\": internal ALB, none",
    ]


def report_to_json(report: CostReport) -> dict[str, Any]:
    p = report.prices
    return {
        "region": p.region,
        "currency": "USD",
        "hours_per_month": p.hours_per_month,
        "prices_as_of": p.as_of,
        "assumptions": dict(p.assumptions),
        "warning": p.warning,
        "options": option_effects(p),
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
