"""The edge keys of platform.toml: what each mistake gets (one line naming the key, exit 2, nothing
written, git status unchanged), and what a valid edge section turns into."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from config_support import config_error
from edge_support import ALB_CERT, BASE, CF_CERT, DOMAIN, REPO, dev_config

from generators.config import load_config
from generators.edge_config import REGIONS

EU_CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"

CASES = {
    "unknown edge": (dev_config(edge="cdn"),
                     r"environments\.dev\.edge: 'cdn' is not accepted \(expected 'vpc-origin' or 'public-alb'\)"),
    "public-alb without domain": (dev_config(edge="public-alb"),
                                  r"environments\.dev\.domain: missing, and edge = \"public-alb\" needs it"),
    "domain without any certificate": (dev_config(domain="shop.example.org"),
                                       r"environments\.dev\.cloudfront_certificate_arn: missing, and domain = "
                                       r"'shop\.example\.org' needs it \(ACM in us-east-1"),
    "domain without the alb certificate": (dev_config(domain="shop.example.org", cloudfront_certificate_arn=CF_CERT),
                                           r"environments\.dev\.alb_certificate_arn: missing, .*covering "
                                           r"origin\.shop\.example\.org\)"),
    "cloudfront certificate outside us-east-1": (
        dev_config(**{**DOMAIN, "cloudfront_certificate_arn": EU_CERT}),
        r"environments\.dev\.cloudfront_certificate_arn: certificate is in eu-west-1 \(expected us-east-1"),
    "alb certificate outside the region": (
        dev_config(**{**DOMAIN, "alb_certificate_arn": EU_CERT}),
        r"environments\.dev\.alb_certificate_arn: certificate is in eu-west-1 "
        r"\(expected us-east-1: the environment.s region"),
    "old certificate_arn key": (
        dev_config(certificate_arn=CF_CERT),
        r"environments\.dev\.certificate_arn: no longer a key \(replaced by cloudfront_certificate_arn .*"
        r"alb_certificate_arn"),
    "certificate without domain": (dev_config(alb_certificate_arn=ALB_CERT),
                                   r"environments\.dev\.alb_certificate_arn: set without domain"),
    "zone without domain": (dev_config(hosted_zone_id="Z123ABC"), r"environments\.dev\.hosted_zone_id: set without"),
    "bad domain": (dev_config(**{**DOMAIN, "domain": "Shop.Example"}),
                   r"environments\.dev\.domain: 'Shop\.Example' is not accepted \(expected a lower-case DNS name"),
    "zone without vpc origins": (dev_config(availability_zone_ids=["use1-az1", "use1-az3"]),
                                 r"environments\.dev\.availability_zone_ids: 'use1-az3' is not a zone where "
                                 r"CloudFront offers VPC origins"),
    "too few zones": (dev_config(availability_zone_ids=["use1-az1"]),
                      r"environments\.dev\.availability_zone_ids: .*expected 2 different zone IDs"),
    "region without a prefix list id": (BASE.replace('region = "us-east-1"', 'region = "sa-east-1"', 1),
                                        r"environments\.dev\.region: 'sa-east-1' has no CloudFront origin-facing "
                                        r"prefix list id"),
    "mistake in prod's edge keys": (BASE.replace('alb_certificate_arn = "arn:aws:acm:us-east-1:',
                                                 'alb_certificate_arn = "arn:aws:acm:us-west-2:'),
                                    r"environments\.prod\.alb_certificate_arn: certificate is in us-west-2"),
}



@pytest.mark.parametrize("case", sorted(CASES))
def test_edge_mistake_is_one_line_exit_2_and_writes_nothing(case: str, tmp_path: Path) -> None:
    text, expected = CASES[case]
    line = config_error(tmp_path, text)  # tests/config_support.py: the line deploy.py prints
    assert re.search(r"^error: platform\.toml: " + expected, line), line


def test_deploy_py_prints_that_line_exits_2_and_writes_nothing(refused_synth: Callable[..., str],
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    text, _ = CASES["public-alb without domain"]
    assert refused_synth(text) == config_error(tmp_path_factory.mktemp("in-process"), text)


def test_defaults_are_a_vpc_origin_over_http_in_supported_zones() -> None:
    edge = load_config(REPO / "platform.toml", "dev").env.edge
    assert (edge.mode, edge.internal, edge.domain, edge.origin_protocol, edge.origin_port) == (
        "vpc-origin", True, None, "HTTP", 80)
    assert edge.zone_ids == ("use1-az1", "use1-az2") and edge.prefix_list_id == "pl-3b927c52"


def test_prod_example_uses_a_domain_and_both_certificates() -> None:
    edge = load_config(REPO / "platform.toml", "prod").env.edge
    assert edge.domain and edge.origin_domain == f"origin.{edge.domain}"
    assert edge.cloudfront_certificate_arn and ":us-east-1:" in edge.cloudfront_certificate_arn
    assert edge.alb_certificate_arn and (edge.origin_protocol, edge.origin_port) == ("HTTPS", 443)


def test_chosen_zone_ids_are_used_in_order(tmp_path: Path) -> None:
    config = tmp_path / "platform.toml"
    config.write_text(dev_config(edge="public-alb", availability_zone_ids=["use1-az6", "use1-az4"], **DOMAIN))
    edge = load_config(config, "dev").env.edge
    assert (edge.mode, edge.internal, edge.zone_ids) == ("public-alb", False, ("use1-az6", "use1-az4"))


def test_region_table_is_well_formed() -> None:
    """Every region has a prefix list id and at least three zone IDs of its own (az_count may be 3)."""
    for region, entry in REGIONS.items():
        assert re.fullmatch(r"pl-[0-9a-f]{8}", entry.prefix_list_id), region
        assert len(entry.zone_ids) >= 3 and len(set(entry.zone_ids)) == len(entry.zone_ids), region
        prefixes = {z.split("-az")[0] for z in entry.zone_ids}
        assert len(prefixes) == 1, region
    assert "use1-az3" not in REGIONS["us-east-1"].zone_ids, "CloudFront offers no VPC origins in use1-az3"
    assert len({e.prefix_list_id for e in REGIONS.values()}) == len(REGIONS)
