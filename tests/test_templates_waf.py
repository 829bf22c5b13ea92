"""The edge stack's web ACL, its use by the distribution, and the public-alb origin secret in templates."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from template_sets import cfn_lint_findings, checkov_findings, template_set
from test_config_waf import with_dev_waf

from deployer.planning.cost import estimate
from deployer.planning.prices import load_prices
from generators.config import load_config
from generators.contract import build_contract
from generators.synth import render

ROOT = Path(__file__).resolve().parent.parent
Template = dict[str, Any]


def committed(env: str, stack: str) -> Template:
    return json.loads((ROOT / "templates" / env / f"{stack}.json").read_text())


def rendered(tmp_path: Path, text: str) -> dict[str, Template]:
    config = tmp_path / "platform.toml"
    config.write_text(text)
    return {s: json.loads(t) for s, t in render(load_config(config, "dev")).items()}


@pytest.fixture
def public_alb(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Template]:
    """dev with edge = "public-alb" (which needs a domain and its certificates) and WAF on, as
    rendered once per run for the lint tests."""
    return template_set(tmp_path_factory, "waf-public-alb")


def rules_by_name(t: Template) -> dict[str, Template]:
    (acl,) = [r for r in t["Resources"].values() if r["Type"] == "AWS::WAFv2::WebACL"]
    return {r["Name"]: r for r in acl["Properties"]["Rules"]}


def test_web_acl_is_cloudfront_scoped_rate_limited_and_published() -> None:
    t = committed("prod", "edge")
    acl = t["Resources"]["WebAcl"]["Properties"]
    assert acl["Scope"] == "CLOUDFRONT" and acl["DefaultAction"] == {"Allow": {}}
    rules = rules_by_name(t)
    costly = rules["RateLimitCostlyPaths"]["Statement"]["RateBasedStatement"]
    assert (costly["Limit"], costly["EvaluationWindowSec"], costly["AggregateKeyType"]) == (100, 300, "IP")
    scope = costly["ScopeDownStatement"]["ByteMatchStatement"]
    assert (scope["SearchString"], scope["PositionalConstraint"], scope["FieldToMatch"]) == (
        "/inference/", "STARTS_WITH", {"UriPath": {}})
    everything = rules["RateLimitAll"]["Statement"]["RateBasedStatement"]
    assert everything["Limit"] == 1000 and "ScopeDownStatement" not in everything
    for name in ("RateLimitCostlyPaths", "RateLimitAll"):
        assert rules[name]["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    assert rules["RateLimitCostlyPaths"]["Priority"] < rules["RateLimitAll"]["Priority"]
    for rule in [*rules.values(), {"VisibilityConfig": acl["VisibilityConfig"]}]:
        vis = rule["VisibilityConfig"]
        assert vis["CloudWatchMetricsEnabled"] and vis["SampledRequestsEnabled"] and vis["MetricName"]
    param = t["Resources"]["EdgeWebAclArnParameter"]["Properties"]
    assert param["Name"] == "/layered-prod/edge/web-acl-arn" and param["Value"] == {"Fn::GetAtt": ["WebAcl", "Arn"]}


def test_managed_rules_count_body_rules_only_on_api_paths() -> None:
    rules = rules_by_name(committed("prod", "edge"))
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
        assert rules[group]["Statement"]["ManagedRuleGroupStatement"]["VendorName"] == "AWS"
        assert rules[group]["OverrideAction"] == {"None": {}}  # the group's own Block actions stand
    common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    counted = {o["Name"]: o["ActionToUse"] for o in common["RuleActionOverrides"]}
    assert counted == {"SizeRestrictions_BODY": {"Count": {}}, "CrossSiteScripting_BODY": {"Count": {}}}
    reblock = rules["CoreBodyRulesOutsideApis"]
    assert reblock["Action"] == {"Block": {}}
    assert reblock["Priority"] > rules["AWSManagedRulesCommonRuleSet"]["Priority"]  # labels exist by then
    labels, outside = reblock["Statement"]["AndStatement"]["Statements"]
    keys = {s["LabelMatchStatement"]["Key"] for s in labels["OrStatement"]["Statements"]}
    assert keys == {"awswaf:managed:aws:core-rule-set:SizeRestrictions_Body",
                    "awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body"}
    apis = outside["NotStatement"]["Statement"]["OrStatement"]["Statements"]
    assert sorted(s["ByteMatchStatement"]["SearchString"] for s in apis) == ["/api/", "/inference/"]


def test_distribution_uses_the_web_acl_from_ssm_and_depends_on_edge() -> None:
    front = committed("prod", "frontend")
    config = front["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    assert config["WebACLId"] == {"Ref": "WebAclArn"}
    assert front["Parameters"]["WebAclArn"] == {
        "Default": "/layered-prod/edge/web-acl-arn", "Description": "Read from SSM /layered-prod/edge/web-acl-arn",
        "Type": "AWS::SSM::Parameter::Value<String>"}
    contract = build_contract({p.stem: committed("prod", p.stem) for p in (ROOT / "templates" / "prod").glob("*.json")})
    assert contract.dependencies("frontend") == {"infrastructure", "edge"}
    dev_front = committed("dev", "frontend")["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    assert "WebACLId" not in dev_front and not (ROOT / "templates" / "dev" / "edge.json").exists()


def test_limits_and_window_come_from_the_configuration(tmp_path: Path) -> None:
    t = rendered(tmp_path, with_dev_waf("enabled = true\ninference_rate_limit = 10\nrate_limit = 20\n"
                                        "window_seconds = 60\n"))["edge"]
    rules = rules_by_name(t)
    for name, limit in (("RateLimitCostlyPaths", 10), ("RateLimitAll", 20)):
        statement = rules[name]["Statement"]["RateBasedStatement"]
        assert (statement["Limit"], statement["EvaluationWindowSec"]) == (limit, 60)
        headers = rules[name]["Action"]["Block"]["CustomResponse"]["ResponseHeaders"]
        assert headers == [{"Name": "Retry-After", "Value": "60"}]


def test_cost_includes_the_web_acl_and_its_rules() -> None:
    report = estimate({s: committed("prod", s) for s in ("edge",)}, load_prices())
    (edge,) = report.stacks
    assert [(ln.item, ln.quantity, ln.unit_usd) for ln in edge.lines] == [
        ("WAF web ACL", 1, 5.0), ("WAF rules (5)", 5, 1.0)]
    assert edge.monthly_usd == pytest.approx(10.0)
    assert any("WAF requests" in n for n in edge.notes)


DYNAMIC_REF = re.compile(r"\{\{resolve:secretsmanager:layered-dev/edge/origin-secret:SecretString:"
                         r"(current|previous)::\$\{OriginSecretVersion\}\}\}")


def test_public_alb_rules_need_the_header_and_the_secret_never_appears(public_alb: dict[str, Template]) -> None:
    stacks = public_alb
    text = json.dumps(stacks)
    assert "ssm-secure" not in text
    for service in ("app-api", "inference-api"):
        t = stacks[service]
        (rule,) = [r for r in t["Resources"].values() if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"]
        header = [c for c in rule["Properties"]["Conditions"] if c["Field"] == "http-header"]
        assert len(header) == 1 and header[0]["HttpHeaderConfig"]["HttpHeaderName"] == "X-Origin-Verify"
        values = [DYNAMIC_REF.fullmatch(v["Fn::Sub"]) for v in header[0]["HttpHeaderConfig"]["Values"]]
        assert [m.group(1) for m in values if m] == ["current", "previous"]
        assert t["Parameters"]["OriginSecretVersion"]["Default"] == "/layered-dev/edge/origin-secret-alb-version"
        assert t["Parameters"]["OriginSecretVersion"]["Type"] == "AWS::SSM::Parameter::Value<String>"
    (listener,) = [r["Properties"] for r in stacks["infrastructure"]["Resources"].values()
                   if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener"]
    (default,) = listener["DefaultActions"]
    assert default["Type"] == "fixed-response" and default["FixedResponseConfig"]["StatusCode"] == "403"
    origins = stacks["frontend"]["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["Origins"]
    (api,) = [o for o in origins if o["Id"] == "api"]
    (sent,) = api["OriginCustomHeaders"]
    assert sent["HeaderName"] == "X-Origin-Verify"
    match = DYNAMIC_REF.fullmatch(sent["HeaderValue"]["Fn::Sub"])
    assert match and match.group(1) == "current"
    assert stacks["frontend"]["Parameters"]["OriginSecretVersion"]["Default"] == \
        "/layered-dev/edge/origin-secret-cloudfront-version"


def test_vpc_origin_mode_has_no_origin_secret() -> None:
    for stack in ("infrastructure", "app-api", "frontend"):
        assert "origin-secret" not in json.dumps(committed("dev", stack)), stack
    (default,) = committed("dev", "infrastructure")["Resources"]["HttpListener"]["Properties"]["DefaultActions"]
    assert default["FixedResponseConfig"]["StatusCode"] == "404"


@pytest.mark.parametrize("variant", ["public-alb", "eu-west-1"])
def test_variant_templates_pass_cfn_lint_and_checkov(variant: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """WAF on in front of a public ALB, and WAF on in eu-west-1 (its edge stack still in us-east-1):
    every stack cfn-lint clean in its own region and checkov 0 failed (tests/template_sets.py runs
    both once per test run)."""
    name = f"waf-{variant}"
    stacks = template_set(tmp_path_factory, name)
    assert "edge" in stacks and len(stacks) >= 8
    for stack in stacks:
        matches = cfn_lint_findings(tmp_path_factory, name, stack)
        assert not matches, f"{stack}: " + "\n".join(matches)
    failed, passed, stderr = checkov_findings(tmp_path_factory, name)
    assert not failed, failed
    assert passed > 50, f"checkov checked suspiciously little ({passed} passed): {stderr}"
