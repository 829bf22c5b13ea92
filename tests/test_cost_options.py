"""--cost by option and region: Spot, mixed, arm64, schedules, the NAT modes, the ALB's public
addresses, regional tables, an unknown region (a warning), the example dev environment's idle
figure, and the price refresh tool's parsing of the Price List API's response shape."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from edge_support import BASE, DOMAIN, REPO, dev_config
from test_cost import PRICES, monthly, service
from zygote_support import run_deploy

from deployer.commands.price_refresh import QUERIES, fetch_region, merge, usd_per_unit
from deployer.planning.cost import estimate, estimate_stack, split_tasks
from deployer.planning.prices import load_prices
from generators.config import load_config
from generators.synth import stack_builders

WEEKS = 730 / 168  # weeks per month at 730 h


def with_strategy(t: dict[str, Any], *items: dict[str, Any]) -> dict[str, Any]:
    t["Resources"]["Service"]["Properties"]["CapacityProviderStrategy"] = list(items)
    return t


def test_spot_prices_every_task_at_the_spot_rates() -> None:
    t = with_strategy(service(desired=2), {"CapacityProvider": "FARGATE_SPOT", "Weight": 1})
    cost = estimate_stack("s", t, PRICES)
    # 2 tasks x 730 h = 1,460 task-h; x 0.25 vCPU x 0.012 = 4.38; x 0.5 GB x 0.0012 = 0.876
    assert [(line.item.split(" (")[0], round(line.monthly_usd, 3)) for line in cost.lines] == [
        ("Fargate Spot vCPU", 4.38), ("Fargate Spot memory", 0.876)]


def test_mixed_keeps_the_base_on_demand_and_the_rest_on_spot() -> None:
    assert split_tasks(3, [("FARGATE", 1, 0), ("FARGATE_SPOT", 0, 1)]) == {"FARGATE": 1, "FARGATE_SPOT": 2}
    assert split_tasks(1, [("FARGATE", 2, 0), ("FARGATE_SPOT", 0, 1)]) == {"FARGATE": 1, "FARGATE_SPOT": 0}
    assert split_tasks(4, [("FARGATE", 0, 1), ("FARGATE_SPOT", 0, 3)]) == {"FARGATE": 1, "FARGATE_SPOT": 3}
    t = with_strategy(service(desired=3), {"CapacityProvider": "FARGATE", "Base": 1, "Weight": 0},
                      {"CapacityProvider": "FARGATE_SPOT", "Weight": 1})
    on_demand = 730 * (0.25 * 0.04 + 0.5 * 0.004)  # 8.76
    spot = 2 * 730 * (0.25 * 0.012 + 0.5 * 0.0012)  # 5.256
    assert monthly(t) == pytest.approx(on_demand + spot)


def test_arm64_on_demand_rates() -> None:
    cost = estimate_stack("s", service(desired=1, arm=True), PRICES)
    assert [line.item.split(" (")[0] for line in cost.lines] == ["Fargate arm64 vCPU", "Fargate arm64 memory"]
    assert cost.monthly_usd == pytest.approx(730 * (0.25 * 0.03 + 0.5 * 0.003))


def scheduled(windows: list[tuple[str, str]], floor: int = 2) -> dict[str, Any]:
    t = service()
    actions = []
    for wake, sleep in windows:
        actions += [{"Schedule": wake, "ScalableTargetAction": {"MinCapacity": floor, "MaxCapacity": 4}},
                    {"Schedule": sleep, "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 0}}]
    t["Resources"]["ScalableTarget"]["Properties"]["ScheduledActions"] = actions
    return t


def test_schedule_counts_only_the_working_hours() -> None:
    t = scheduled([("cron(0 7 ? * MON-FRI *)", "cron(0 20 ? * MON-FRI *)")])
    cost = estimate_stack("s", t, PRICES)
    task_hours = 2 * 65 * WEEKS  # 2 tasks x 13 h x 5 days a week = 564.9 task-h a month
    assert cost.lines[0].quantity == pytest.approx(task_hours * 0.25)
    assert cost.monthly_usd == pytest.approx(task_hours * (0.25 * 0.04 + 0.5 * 0.004))
    assert "564.9 task-h, by schedule" in cost.lines[0].item


def test_schedule_with_two_windows_and_a_weekend_day() -> None:
    t = scheduled([("cron(30 8 ? * MON-FRI *)", "cron(0 12 ? * MON-FRI *)"),
                   ("cron(0 10 ? * SAT *)", "cron(0 14 ? * SAT *)")], floor=1)
    hours = (3.5 * 5 + 4) * WEEKS
    assert estimate_stack("s", t, PRICES).lines[0].quantity == pytest.approx(hours * 0.25)


def test_unreadable_schedule_is_priced_around_the_clock_and_says_so() -> None:
    t = scheduled([("rate(1 day)", "cron(0 20 ? * MON-FRI *)")])
    cost = estimate_stack("s", t, PRICES)
    assert cost.monthly_usd == pytest.approx(2 * 730 * (0.25 * 0.04 + 0.5 * 0.004))
    assert any("priced around the clock" in n for n in cost.notes)


def generated(tmp_path: Path, text: str, env: str = "dev") -> dict[str, Any]:
    config = tmp_path / f"{abs(hash(text))}.toml"
    config.write_text(text)
    cfg = load_config(config, env)
    return {stack: json.loads(json.dumps(build(cfg).to_dict())) for stack, build in stack_builders(cfg).items()}


def infra_lines(tmp_path: Path, nat: str) -> dict[str, float]:
    t = generated(tmp_path, BASE.replace('nat = "instance"', f'nat = "{nat}"', 1))["infrastructure"]
    return {line.item: line.monthly_usd for line in estimate_stack("infrastructure", t, PRICES).lines}


def test_nat_modes(tmp_path: Path) -> None:
    instance, single, none = (infra_lines(tmp_path, n) for n in ("instance", "single", "none"))
    assert instance["EC2 t4g.nano (Linux, on demand)"] == pytest.approx(730 * 0.004)  # 2.92
    assert instance["EBS gp3 volume (8 GB)"] == pytest.approx(8 * 0.08)  # 0.64
    assert instance["Public IPv4 (instance's primary interface)"] == pytest.approx(730 * 0.005)  # 3.65
    assert single["NAT gateway"] == pytest.approx(730 * 0.05) and single["Elastic IP (public IPv4)"] == 3.65
    assert not any("NAT" in k or "EC2" in k or "IPv4" in k for k in none)
    assert sum(instance.values()) - sum(none.values()) == pytest.approx(2.92 + 0.64 + 3.65)
    assert sum(single.values()) - sum(none.values()) == pytest.approx(36.5 + 3.65)


def test_public_alb_pays_one_address_per_zone_in_the_checked_in_table(tmp_path: Path) -> None:
    prices = load_prices()
    assert prices.assumptions["alb_public_ipv4_per_az"] == 1
    public = estimate(generated(tmp_path, dev_config(edge="public-alb", **DOMAIN)), prices)
    private = estimate(generated(tmp_path, dev_config(edge="vpc-origin")), prices)
    ips = [line for s in public.stacks for line in s.lines if line.item.startswith("ALB public IPv4")]
    assert [line.quantity for line in ips] == [2 * 730]  # 2 zones x 1 address
    assert public.monthly_usd - private.monthly_usd == pytest.approx(2 * 730 * 0.005)  # 7.30


REQUIRED_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "eu-west-2",
                    "ap-southeast-1", "ap-northeast-1")


def test_regional_tables_cover_the_common_regions() -> None:
    raw = json.loads((REPO / "deployer" / "planning" / "prices.json").read_text())
    assert set(REQUIRED_REGIONS) <= {raw["region"], *raw["regions"]}
    for region in REQUIRED_REGIONS:
        prices = load_prices(region=region)
        assert prices.region == region and prices.warning is None and prices.base_rates == (), region
        assert all(prices.rates[rate] > 0 for rate in QUERIES), region
    frankfurt, virginia = load_prices(region="eu-central-1"), load_prices(region="us-east-1")
    assert frankfurt.rates["nat_gateway_hour"] > virginia.rates["nat_gateway_hour"]
    assert frankfurt.rates["public_ipv4_hour"] == virginia.rates["public_ipv4_hour"]  # global


def cost_cli(*args: str, region: str | None = None, tmp_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """deploy.py --cost, for the example configuration or (region) a copy of it set in another region."""
    if region is not None:
        assert tmp_path is not None
        config = tmp_path / "platform.toml"
        config.write_text(BASE.replace('region = "us-east-1"', f'region = "{region}"', 1))
        args = ("--config", str(config), *args)
    return run_deploy(["--cost", *args], dict(os.environ), timeout=60)  # deploy.py, forked pre-imported


def test_unknown_region_is_a_warning_and_the_base_prices(tmp_path: Path) -> None:
    prices = load_prices(region="ap-southeast-2")
    assert prices.region == "us-east-1" and prices.warning and "no prices for ap-southeast-2" in prices.warning
    done = cost_cli(region="ap-southeast-2", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [prices.warning]
    assert done.stdout.startswith("Estimated idle monthly cost, us-east-1")
    assert "no prices for ap-southeast-2" in done.stdout.splitlines()[1]
    assert list(tmp_path.iterdir()) == [tmp_path / "platform.toml"], "--cost writes nothing"


def test_configured_region_is_priced_without_warning(tmp_path: Path) -> None:
    done = cost_cli("--output", "json", region="ap-northeast-1", tmp_path=tmp_path)
    doc = json.loads(done.stdout)
    assert done.returncode == 0 and done.stderr == "" and doc["region"] == "ap-northeast-1" and doc["warning"] is None
    assert doc["total_monthly_usd"] > json.loads(cost_cli("--output", "json").stdout)["total_monthly_usd"]


def test_example_dev_idles_at_45_dollars_or_less_and_prod_keeps_a_nat_gateway() -> None:
    dev = cost_cli("--env", "dev")
    total = next(line for line in dev.stdout.splitlines() if line.startswith("TOTAL"))
    assert float(total.split()[-1].replace(",", "")) <= 45, dev.stdout
    for visible in ("Fargate Spot vCPU", "by schedule", "EC2 t4g.nano", "What the options change here"):
        assert visible in dev.stdout
    prod = json.loads(cost_cli("--env", "prod", "--output", "json").stdout)
    items = [line["item"] for line in prod["stacks"]["infrastructure"]["lines"]]
    assert "NAT gateway" in items
    assert any(line["item"].startswith("Fargate arm64") for line in prod["stacks"]["app-api"]["lines"])


# The shape GetProducts answers with: PriceList holds one JSON document per product, as text.
def product(usage_type: str, *dimensions: tuple[str, str], family: str = "NAT Gateway") -> str:
    dims = {f"SKU.TERM.RATE{i}": {"unit": "Hrs", "beginRange": begin, "endRange": "Inf",
                                  "description": "recorded shape", "appliesTo": [], "rateCode": f"SKU.TERM.RATE{i}",
                                  "pricePerUnit": {"USD": usd}}
            for i, (begin, usd) in enumerate(dimensions)}
    return json.dumps({
        "product": {"productFamily": family, "sku": "SKU",
                    "attributes": {"usagetype": usage_type, "regionCode": "eu-west-1", "servicecode": "AmazonEC2"}},
        "serviceCode": "AmazonEC2", "version": "20250101000000", "publicationDate": "2025-01-01T00:00:00Z",
        "terms": {"OnDemand": {"SKU.TERM": {"priceDimensions": dims, "sku": "SKU", "offerTermCode": "TERM",
                                            "effectiveDate": "2025-01-01T00:00:00Z", "termAttributes": {}}}},
    })


def test_price_list_parsing_picks_the_usage_type_and_first_paid_tier() -> None:
    page = [product("EU-NatGateway-Bytes", ("0", "0.048")), product("EU-NatGateway-Hours", ("0", "0.0480000000"))]
    assert usd_per_unit(page, "NatGateway-Hours") == 0.048
    assert usd_per_unit([product("NatGateway-Hours", ("0", "0.045"))], "NatGateway-Hours") == 0.045  # us-east-1
    alarms = [product("EUW1-CW:AlarmMonitorUsage", ("0", "0"), ("10", "0.10"), family="Alarm")]
    assert usd_per_unit(alarms, "CW:AlarmMonitorUsage") == 0.10  # the free first ten skipped
    storage = [product("EU-TimedStorage-ByteHrs", ("51200", "0.022"), ("0", "0.023"))]
    assert usd_per_unit(storage, "TimedStorage-ByteHrs") == 0.023
    assert usd_per_unit(page, "LCUUsage") is None


class RecordedPricing:
    """Answers get_products pages the way the Price List API does; records the filters asked for."""

    def __init__(self, products: list[str]) -> None:
        self.products, self.calls = products, []  # type: ignore[var-annotated]

    def get_paginator(self, name: str) -> RecordedPricing:
        assert name == "get_products"
        return self

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append(kwargs)
        return [{"FormatVersion": "aws_v1", "PriceList": self.products}]


def test_refresh_fetches_each_rate_and_merges_a_new_region() -> None:
    pricing = RecordedPricing([product("EUW3-NatGateway-Hours", ("0", "0.05")),
                               product("EUW3-BoxUsage:t4g.nano", ("0", "0.0047"))])
    found, missing = fetch_region(pricing, "eu-west-3")
    assert found == {"nat_gateway_hour": 0.05, "ec2_t4g_nano_hour": 0.0047}
    assert set(missing) == set(QUERIES) - set(found)
    first = pricing.calls[0]
    assert first["ServiceCode"] == "AmazonEC2" and {"Type": "TERM_MATCH", "Field": "regionCode",
                                                    "Value": "eu-west-3"} in first["Filters"]
    raw = json.loads((REPO / "deployer" / "planning" / "prices.json").read_text())
    changes = merge(raw, "eu-west-3", found, "2026-11-28")
    assert raw["regions"]["eu-west-3"] == found and raw["prices_as_of"] == "2026-11-28"
    assert changes == ["eu-west-3 nat_gateway_hour: None -> 0.05", "eu-west-3 ec2_t4g_nano_hour: None -> 0.0047"]
    merge(raw, "us-east-1", {"nat_gateway_hour": 0.046}, "2026-11-28")
    assert raw["rates"]["nat_gateway_hour"]["usd"] == 0.046

