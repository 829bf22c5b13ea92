"""Price tables (prices.json: a base table plus one per common region) and what each option of
platform.toml changes at those prices. Pure: a file in, numbers and sentences out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PRICES_PATH = Path(__file__).with_name("prices.json")

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


def price_text(usd: float) -> str:
    return f"{usd:.6f}".rstrip("0").rstrip(".")


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
        f"capacity = \"spot\": Fargate vCPU-hour {price_text(r['fargate_vcpu_hour'])} -> "
        f"{price_text(r['fargate_spot_vcpu_hour'])} ({_pct(r['fargate_spot_vcpu_hour'], r['fargate_vcpu_hour'])}), "
        f"GB-hour {price_text(r['fargate_gb_hour'])} -> {price_text(r['fargate_spot_gb_hour'])}; "
        "x86_64 only, interruptible",
        f"arch = \"arm64\": vCPU-hour -> {price_text(r['fargate_arm_vcpu_hour'])} "
        f"({_pct(r['fargate_arm_vcpu_hour'], r['fargate_vcpu_hour'])}), GB-hour -> "
        f"{price_text(r['fargate_arm_gb_hour'])}; on demand only",
        f"schedule weekdays 07:00-20:00: tasks run {workweek:,.1f} h of {h:g} ({_pct(workweek, h)})",
        f"nat = \"single\": NAT gateway {gateway:,.2f} + Elastic IP {ip:,.2f} = {gateway + ip:,.2f}; "
        f"\"instance\": t4g.nano + 8 GB gp3 {instance:,.2f} + public IPv4 {ip:,.2f} = {instance + ip:,.2f}; "
        f"\"none\": 0, but {ip:,.2f} per running task (public IPv4 each)",
        f"edge = \"public-alb\": + one public IPv4 per zone ({ip:,.2f} each); \"vpc-origin\": internal ALB, none",
    ]
