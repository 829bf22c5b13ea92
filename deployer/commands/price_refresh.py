"""Refresh deployer/planning/prices.json from the AWS Price List API (GetProducts, through boto3).

    python -m deployer.commands.price_refresh                     # show what changed, for every region in the file
    python -m deployer.commands.price_refresh --region eu-west-3  # add or refresh one region
    python -m deployer.commands.price_refresh --write             # write the new figures and today's date

Needs AWS credentials (any identity allowed pricing:GetProducts); the Price List API answers in
us-east-1 whatever region is priced. Only the rates that differ by region are fetched (QUERIES);
the global ones (public IPv4, ECR, KMS, Budgets, CloudFront) stay as the file has them. Parsing is
pure (`usd_per_unit`), so it is tested on recorded response shapes without AWS.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deployer.planning.prices import PRICES_PATH

# rate -> (service code, TERM_MATCH filters besides regionCode, usage type without its region prefix)
QUERIES: dict[str, tuple[str, dict[str, str], str]] = {
    "nat_gateway_hour": ("AmazonEC2", {"productFamily": "NAT Gateway"}, "NatGateway-Hours"),
    "alb_hour": ("AWSELB", {"productFamily": "Load Balancer-Application"}, "LoadBalancerUsage"),
    "alb_lcu_hour": ("AWSELB", {"productFamily": "Load Balancer-Application"}, "LCUUsage"),
    "fargate_vcpu_hour": ("AmazonECS", {}, "Fargate-vCPU-Hours:perCPU"),
    "fargate_gb_hour": ("AmazonECS", {}, "Fargate-GB-Hours"),
    "fargate_arm_vcpu_hour": ("AmazonECS", {}, "Fargate-ARM-vCPU-Hours:perCPU"),
    "fargate_arm_gb_hour": ("AmazonECS", {}, "Fargate-ARM-GB-Hours"),
    "fargate_spot_vcpu_hour": ("AmazonECS", {}, "SpotUsage-Fargate-vCPU-Hours:perCPU"),
    "fargate_spot_gb_hour": ("AmazonECS", {}, "SpotUsage-Fargate-GB-Hours"),
    "ec2_t4g_nano_hour": ("AmazonEC2", {"instanceType": "t4g.nano", "operatingSystem": "Linux", "tenancy": "Shared",
                                        "preInstalledSw": "NA", "capacitystatus": "Used"}, "BoxUsage:t4g.nano"),
    "ebs_gp3_gb_month": ("AmazonEC2", {"productFamily": "Storage", "volumeApiName": "gp3"}, "EBS:VolumeUsage.gp3"),
    "interface_endpoint_az_hour": ("AmazonVPC", {"productFamily": "VpcEndpoint"}, "VpcEndpoint-Hours"),
    "s3_standard_gb_month": ("AmazonS3", {"storageClass": "General Purpose", "volumeType": "Standard"},
                             "TimedStorage-ByteHrs"),
    "cloudwatch_alarm_month": ("AmazonCloudWatch", {"productFamily": "Alarm"}, "CW:AlarmMonitorUsage"),
}


def _matches(usage_type: str, wanted: str) -> bool:
    # us-east-1 usage types carry no prefix ("BoxUsage:t4g.nano"); others do ("EUW1-BoxUsage:t4g.nano").
    return usage_type == wanted or usage_type.endswith(f"-{wanted}")


def usd_per_unit(price_list: Iterable[str], usage_type: str) -> float | None:
    """The on-demand USD price of the first paid tier of the product with this usage type.

    Free tiers (CloudWatch's first alarms) are dimensions priced 0 and are skipped; tiered storage
    (S3) takes its first tier, the one a small bucket pays."""
    tiers: list[tuple[float, float]] = []
    for text in price_list:
        item: dict[str, Any] = json.loads(text)
        if not _matches(item.get("product", {}).get("attributes", {}).get("usagetype", ""), usage_type):
            continue
        for term in item.get("terms", {}).get("OnDemand", {}).values():
            for dim in term.get("priceDimensions", {}).values():
                usd = float(dim.get("pricePerUnit", {}).get("USD", "0"))
                if usd > 0:
                    tiers.append((float(dim.get("beginRange", "0")), usd))
    return min(tiers)[1] if tiers else None


def fetch_region(pricing: Any, region: str) -> tuple[dict[str, float], list[str]]:
    """(rate -> USD) for one region, and the rates the API had no product for."""
    from deployer.aws import operations

    found, missing = {}, []
    for rate, (service, filters, usage_type) in QUERIES.items():
        usd = usd_per_unit(operations.price_list(pricing, service, {**filters, "regionCode": region}), usage_type)
        if usd is None:
            missing.append(rate)
        else:
            found[rate] = usd
    return found, missing


def merge(raw: dict[str, Any], region: str, rates: dict[str, float], today: str) -> list[str]:
    """Put one region's figures into the file's structure; returns `rate: old -> new` lines."""
    changes = []
    for rate, usd in rates.items():
        if region == raw["region"]:
            old = raw["rates"][rate]["usd"]
            raw["rates"][rate]["usd"] = usd
        else:
            old = raw.setdefault("regions", {}).setdefault(region, {}).get(rate)
            raw["regions"][region][rate] = usd
        if old != usd:
            changes.append(f"{region} {rate}: {old} -> {usd}")
    raw["prices_as_of"] = raw["recorded"] = today
    raw["source"] = (f"AWS Price List API (GetProducts, on demand), fetched {today} with python -m "
                     "deployer.commands.price_refresh; Fargate Spot prices move with supply")
    return changes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deployer.commands.price_refresh", description=__doc__.splitlines()[0])
    p.add_argument("--region", action="append", default=[], help="region to fetch (default: every one in the file)")
    p.add_argument("--write", action="store_true",
                   help="write deployer/planning/prices.json (default: show changes only)")
    p.add_argument("--profile", help="AWS profile")
    args = p.parse_args(argv)
    from deployer.aws import runner

    raw = json.loads(PRICES_PATH.read_text(encoding="utf-8"))
    regions = args.region or [raw["region"], *raw.get("regions", {})]
    pricing = runner.pricing_client(runner.Clients("us-east-1", args.profile))
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    for region in regions:
        rates, missing = fetch_region(pricing, region)
        for line in merge(raw, region, rates, today):
            print(line)
        if missing:
            print(f"warning: {region}: no price found for {', '.join(missing)}; kept as before", file=sys.stderr)
    if args.write:
        Path(PRICES_PATH).write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {PRICES_PATH.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
