"""How viewers reach an environment: the edge keys of [environments.<env>], validated once.

`edge` chooses how CloudFront reaches the load balancer ("vpc-origin": an internal ALB behind a
CloudFront VPC origin; "public-alb": an internet-facing ALB that admits only CloudFront).
`domain` with `cloudfront_certificate_arn` (ACM, us-east-1) and `alb_certificate_arn` (ACM, the
environment's region) makes both legs HTTPS; `hosted_zone_id` adds the Route 53 records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .schema import ConfigError, Field, _each, _matches, _one_of

EDGE_MODES = ("vpc-origin", "public-alb")
# CloudFront accepts viewer certificates only from ACM in us-east-1.
CLOUDFRONT_CERT_REGION = "us-east-1"
ACM_ARN = r"arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[A-Za-z0-9-]+"


@dataclass(frozen=True)
class RegionEdge:
    """What a template needs to know about a region that CloudFormation cannot look up itself."""

    prefix_list_id: str  # com.amazonaws.global.cloudfront.origin-facing in this region
    zone_ids: tuple[str, ...]  # zones where CloudFront VPC origins are offered, in placement order


# The origin-facing prefix list is one AWS-managed list with a different id in every region, and
# CloudFormation has no way to look a managed prefix list up by name. A literal id per region,
# checked here at synth time, keeps the first deploy working with no lookup resource, no
# parameter to pass by hand and no extra API call; a region missing from this table is a
# configuration error, not a failed deploy. Ids as returned by `aws ec2 describe-managed-prefix-lists
# --filters Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing`.
# Zone IDs (not names: us-east-1a is a different zone in every account) leave out zones where
# CloudFront does not offer VPC origins (us-east-1: use1-az3); re-check the CloudFront developer
# guide ("VPC origins") before adding a region.
REGIONS: dict[str, RegionEdge] = {
    "us-east-1": RegionEdge("pl-3b927c52", ("use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6")),
    "us-east-2": RegionEdge("pl-b6a144df", ("use2-az1", "use2-az2", "use2-az3")),
    "us-west-2": RegionEdge("pl-82a045eb", ("usw2-az1", "usw2-az2", "usw2-az3", "usw2-az4")),
    "eu-west-1": RegionEdge("pl-4fa04526", ("euw1-az1", "euw1-az2", "euw1-az3")),
    "eu-west-2": RegionEdge("pl-93a247fa", ("euw2-az1", "euw2-az2", "euw2-az3")),
    "eu-central-1": RegionEdge("pl-a3a144ca", ("euc1-az1", "euc1-az2", "euc1-az3")),
    "ap-southeast-1": RegionEdge("pl-31a34658", ("apse1-az1", "apse1-az2", "apse1-az3")),
    "ap-southeast-2": RegionEdge("pl-b8a742d1", ("apse2-az1", "apse2-az2", "apse2-az3")),
    "ap-northeast-1": RegionEdge("pl-58a04531", ("apne1-az1", "apne1-az2", "apne1-az4")),
}

_ACM = _matches(ACM_ARN, "an ACM certificate ARN")
EDGE_FIELDS: dict[str, Field] = {
    "edge": Field("str", False, _one_of(*EDGE_MODES)),
    "domain": Field("str", False, _matches(r"(?=.{4,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
                                           "a lower-case DNS name like app.example.com")),
    "cloudfront_certificate_arn": Field("str", False, _ACM),
    "alb_certificate_arn": Field("str", False, _ACM),
    "hosted_zone_id": Field("str", False, _matches(r"Z[A-Z0-9]{1,31}", "a Route 53 hosted zone id like Z0123ABC")),
    "availability_zone_ids": Field("str-list", False, _each(_matches(r"[a-z]{2,6}\d-az\d{1,2}",
                                                                     "zone IDs like use1-az1"))),
}
RETIRED_FIELDS = {
    "certificate_arn": "replaced by cloudfront_certificate_arn (ACM, us-east-1, for the viewers) and "
                       "alb_certificate_arn (ACM, the environment's region, for origin.<domain>); set domain too",
}


@dataclass(frozen=True)
class EdgeConfig:
    mode: str = "vpc-origin"
    domain: str | None = None
    cloudfront_certificate_arn: str | None = None
    alb_certificate_arn: str | None = None
    hosted_zone_id: str | None = None
    prefix_list_id: str = ""
    zone_ids: tuple[str, ...] = ()

    @property
    def internal(self) -> bool:
        """The ALB has no public address; only the VPC origin reaches it."""
        return self.mode == "vpc-origin"

    @property
    def origin_https(self) -> bool:
        """CloudFront -> ALB is HTTPS exactly when the ALB has a certificate for a name of ours."""
        return self.domain is not None

    @property
    def origin_protocol(self) -> str:
        return "HTTPS" if self.origin_https else "HTTP"

    @property
    def origin_port(self) -> int:
        return 443 if self.origin_https else 80

    @property
    def origin_domain(self) -> str | None:
        """The name CloudFront asks the ALB for (TLS SNI and certificate check): origin.<domain>."""
        return f"origin.{self.domain}" if self.domain else None


def check_retired(table: dict[str, Any], where: str, key: str) -> None:
    for name, instead in RETIRED_FIELDS.items():
        if name in table:
            raise ConfigError(f"{where}: {key}.{name}: no longer a key ({instead})")


def parse_edge(where: str, key: str, t: dict[str, Any], az_count: int) -> EdgeConfig:
    """The edge keys of one environment table (already type-checked), with their cross-checks."""
    edge = EdgeConfig(
        mode=t.get("edge", "vpc-origin"), domain=t.get("domain"),
        cloudfront_certificate_arn=t.get("cloudfront_certificate_arn"),
        alb_certificate_arn=t.get("alb_certificate_arn"), hosted_zone_id=t.get("hosted_zone_id"),
    )
    _check_domain(where, key, edge)
    _check_certificate_regions(where, key, edge, t["region"])
    region = REGIONS.get(t["region"])
    if region is None:
        raise ConfigError(f"{where}: {key}.region: {t['region']!r} has no CloudFront origin-facing prefix list id "
                          f"in generators/edge_config.py (expected one of: {', '.join(REGIONS)}, or add it there)")
    zones = _zone_ids(where, key, t.get("availability_zone_ids"), region, az_count)
    return EdgeConfig(**{**edge.__dict__, "prefix_list_id": region.prefix_list_id, "zone_ids": zones})


def _check_domain(where: str, key: str, edge: EdgeConfig) -> None:
    if edge.domain is None:
        if edge.mode == "public-alb":
            raise ConfigError(f"{where}: {key}.domain: missing, and edge = \"public-alb\" needs it (CloudFront reaches "
                              f"a public load balancer only over HTTPS, at origin.<domain>)")
        for name in ("cloudfront_certificate_arn", "alb_certificate_arn", "hosted_zone_id"):
            if getattr(edge, name) is not None:
                raise ConfigError(f"{where}: {key}.{name}: set without domain (expected domain as well, "
                                  f"or remove {name})")
        return
    for name, what in (("cloudfront_certificate_arn", f"ACM in {CLOUDFRONT_CERT_REGION}, covering {edge.domain}"),
                       ("alb_certificate_arn", f"ACM in the environment's region, covering {edge.origin_domain}")):
        if getattr(edge, name) is None:
            raise ConfigError(f"{where}: {key}.{name}: missing, and domain = {edge.domain!r} needs it ({what})")


def _check_certificate_regions(where: str, key: str, edge: EdgeConfig, env_region: str) -> None:
    for name, expected, why in (
        ("cloudfront_certificate_arn", CLOUDFRONT_CERT_REGION, "CloudFront uses ACM certificates from us-east-1 only"),
        ("alb_certificate_arn", env_region, "the environment's region; a load balancer uses certificates from its "
                                            "own region only"),
    ):
        arn = getattr(edge, name)
        m = re.fullmatch(ACM_ARN, arn) if arn else None
        if m and m.group(1) != expected:
            raise ConfigError(f"{where}: {key}.{name}: certificate is in {m.group(1)} (expected {expected}: {why})")


def _zone_ids(where: str, key: str, chosen: list[str] | None, region: RegionEdge, az_count: int) -> tuple[str, ...]:
    if chosen is None:
        return region.zone_ids[:az_count]
    name = f"{where}: {key}.availability_zone_ids"
    if len(chosen) != az_count or len(set(chosen)) != az_count:
        raise ConfigError(f"{name}: {chosen!r} (expected {az_count} different zone IDs, one per AZ of az_count)")
    unknown = [z for z in chosen if z not in region.zone_ids]
    if unknown:
        raise ConfigError(f"{name}: {unknown[0]!r} is not a zone where CloudFront offers VPC origins in this region "
                          f"(expected some of: {', '.join(region.zone_ids)})")
    return tuple(chosen)
