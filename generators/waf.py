"""The `edge` stack: a WAFv2 web ACL for the distribution (scope CLOUDFRONT, so always in us-east-1).

Rules, in the order WAF evaluates them:
1. a per-IP rate limit on the paths of services that call Bedrock (each request can cost tokens),
2. a looser per-IP rate limit on everything,
3. AWS's known-bad-inputs and core rule sets,
4. the core rule set's body rules again, outside the APIs only.

Why 4: the core rule set blocks any body over 8 KB (SizeRestrictions_BODY) and CloudFront hands WAF
only the first 16 KB of a body, so a chat request would be refused by WAF long before the services'
own body limit (413) applies, and chat text that quotes HTML trips CrossSiteScripting_BODY. Those
two rules are set to Count inside the group, which still labels the request, and rule 4 blocks on
those labels unless the path is one CloudFront forwards to the APIs. One reference to the rule set
(700 WCU) instead of two scoped-down copies keeps the web ACL within its 1,500 WCU base price.

The ACL's ARN is published at /<prefix>/edge/web-acl-arn; the frontend stack reads it (the deployer
copies it into the environment's region first, see deployer/commands/regions.py).
"""

from __future__ import annotations

from troposphere import GetAtt, Output, Template
from troposphere import wafv2 as waf

from .common import ssm_output
from .config import Config
from .frontend import API_PATHS
from .naming import edge_param
from .waf_config import WafConfig

# Rules the core rule set names (rule names, for overrides) and the labels they add (for rule 4).
BODY_RULES = {
    "SizeRestrictions_BODY": "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body",
    "CrossSiteScripting_BODY": "awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body",
}
MANAGED_GROUPS = ("AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesCommonRuleSet")
RATE_LIMITED_BODY = '{"error":{"code":"rate_limited","message":"Too many requests: slow down and retry later"}}'


def build_edge(cfg: Config) -> Template:
    t = Template(Description=f"{cfg.prefix} edge: WAF web ACL for the CloudFront distribution (us-east-1)")
    acl = t.add_resource(web_acl(cfg))
    ssm_output(t, edge_param(cfg.prefix, "web-acl-arn"), GetAtt(acl, "Arn"),
               "WAF web ACL ARN (us-east-1); deploy.py copies it into the environment's region")
    t.add_output(Output("WebAclArn", Description="Web ACL the distribution uses", Value=GetAtt(acl, "Arn")))
    return t


def web_acl(cfg: Config) -> waf.WebACL:
    w = cfg.env.waf
    rules = rate_rules(cfg, w) + managed_rules() + [body_rules_outside_apis()]
    return waf.WebACL(
        "WebAcl", Name=f"{cfg.prefix}-edge", Scope="CLOUDFRONT",
        Description=f"{cfg.prefix}: rate limits and AWS managed rules in front of the site and APIs",
        DefaultAction=waf.DefaultAction(Allow=waf.AllowAction()),
        CustomResponseBodies={"rate-limited": waf.CustomResponseBody(
            ContentType="APPLICATION_JSON", Content=RATE_LIMITED_BODY)},
        Rules=rules, VisibilityConfig=visibility(f"{cfg.prefix}-edge"),
    )


def visibility(metric: str) -> waf.VisibilityConfig:
    return waf.VisibilityConfig(CloudWatchMetricsEnabled=True, SampledRequestsEnabled=True, MetricName=metric)


def costly_paths(cfg: Config) -> list[str]:
    """Paths of the services that call Bedrock (a field of the service, never its name)."""
    return [p for svc in cfg.services if svc.bedrock_models for p in svc.path_patterns]


def path_match(patterns: list[str] | tuple[str, ...]) -> waf.Statement:
    """Requests whose URI path matches one of ALB-style patterns ("/inference/*" -> starts with "/inference/")."""
    def one(pattern: str) -> waf.Statement:
        prefix = pattern.endswith("*") and "*" not in pattern[:-1] and "?" not in pattern
        return waf.Statement(ByteMatchStatement=waf.ByteMatchStatement(
            FieldToMatch=waf.FieldToMatch(UriPath={}),
            PositionalConstraint="STARTS_WITH" if prefix else "EXACTLY",
            SearchString=pattern[:-1] if prefix else pattern,
            # No transformation: CloudFront routes on the path as sent, so the match must see the same.
            TextTransformations=[waf.TextTransformation(Priority=0, Type="NONE")],
        ))

    statements = [one(p) for p in patterns]
    return statements[0] if len(statements) == 1 else waf.Statement(OrStatement=waf.OrStatement(Statements=statements))


def rate_rule(name: str, priority: int, limit: int, w: WafConfig, scope: waf.Statement | None) -> waf.WebACLRule:
    statement = waf.RateBasedStatement(AggregateKeyType="IP", Limit=limit, EvaluationWindowSec=w.window_seconds)
    if scope is not None:
        statement.ScopeDownStatement = scope
    too_many = waf.CustomResponse(ResponseCode=429, CustomResponseBodyKey="rate-limited", ResponseHeaders=[
        waf.CustomHTTPHeader(Name="Retry-After", Value=str(w.window_seconds))])
    return waf.WebACLRule(
        Name=name, Priority=priority, Statement=waf.Statement(RateBasedStatement=statement),
        Action=waf.RuleAction(Block=waf.BlockAction(CustomResponse=too_many)), VisibilityConfig=visibility(name),
    )


def rate_rules(cfg: Config, w: WafConfig) -> list[waf.WebACLRule]:
    rules = []
    if costly_paths(cfg):
        rules.append(rate_rule("RateLimitCostlyPaths", 0, w.inference_rate_limit, w, path_match(costly_paths(cfg))))
    rules.append(rate_rule("RateLimitAll", len(rules), w.rate_limit, w, None))
    return rules


def managed_rules() -> list[waf.WebACLRule]:
    rules = []
    for priority, name in enumerate(MANAGED_GROUPS, start=10):
        overrides = [waf.RuleActionOverride(Name=rule, ActionToUse=waf.RuleAction(Count=waf.CountAction()))
                     for rule in BODY_RULES] if name == "AWSManagedRulesCommonRuleSet" else []
        statement = waf.ManagedRuleGroupStatement(VendorName="AWS", Name=name)
        if overrides:
            statement.RuleActionOverrides = overrides
        rules.append(waf.WebACLRule(
            Name=name, Priority=priority, Statement=waf.Statement(ManagedRuleGroupStatement=statement),
            OverrideAction=waf.OverrideAction(**{"None": {}}), VisibilityConfig=visibility(name),
        ))
    return rules


def body_rules_outside_apis() -> waf.WebACLRule:
    """The body rules set to Count above, blocking again everywhere but the API paths."""
    labels = [waf.Statement(LabelMatchStatement=waf.LabelMatchStatement(Scope="LABEL", Key=k))
              for k in BODY_RULES.values()]
    outside_apis = waf.Statement(NotStatement=waf.NotStatement(Statement=path_match(API_PATHS)))
    return waf.WebACLRule(
        Name="CoreBodyRulesOutsideApis", Priority=20,
        Statement=waf.Statement(AndStatement=waf.AndStatement(Statements=[
            waf.Statement(OrStatement=waf.OrStatement(Statements=labels)), outside_apis])),
        Action=waf.RuleAction(Block=waf.BlockAction()), VisibilityConfig=visibility("CoreBodyRulesOutsideApis"),
    )

