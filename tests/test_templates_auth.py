"""Targeted checks on the sign-in and spend-guard templates, and on what services read from them."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from deploy_support import Aws

from generators.alerts import build_alerts
from generators.auth_config import AuthConfig
from generators.config import load_config
from generators.contract import build_contract, launch_order
from generators.naming import AUTH_KEYS
from generators.synth import render

ROOT = Path(__file__).resolve().parent.parent
ENVS = ("dev", "prod")
PREFIX = {"dev": "layered-dev", "prod": "layered-prod"}


def template(env: str, stack: str) -> dict[str, Any]:
    return json.loads((ROOT / "templates" / env / f"{stack}.json").read_text())


def resources(t: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in t["Resources"].items() if r["Type"] == kind}


def container_env(t: dict[str, Any]) -> dict[str, Any]:
    (task,) = resources(t, "AWS::ECS::TaskDefinition").values()
    return {e["Name"]: e["Value"] for e in task["Properties"]["ContainerDefinitions"][0]["Environment"]}


@pytest.mark.parametrize("env", ENVS)
def test_app_client_is_public_code_flow_only(env: str) -> None:
    (client,) = resources(template(env, "auth"), "AWS::Cognito::UserPoolClient").values()
    p = client["Properties"]
    assert p["GenerateSecret"] is False, "a browser cannot keep a client secret"
    assert p["AllowedOAuthFlows"] == ["code"] and p["AllowedOAuthFlowsUserPoolClient"] is True
    assert sorted(p["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    assert p["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"], "no password flows outside the hosted page"
    assert p["SupportedIdentityProviders"] == ["COGNITO"] and p["UserPoolId"] == {"Ref": "UserPool"}


@pytest.mark.parametrize("env", ENVS)
def test_callback_and_logout_urls_are_the_site_read_from_ssm(env: str) -> None:
    t = template(env, "auth")
    assert t["Parameters"]["SiteUrl"] == {
        "Type": "AWS::SSM::Parameter::Value<String>", "Default": f"/{PREFIX[env]}/frontend/url",
        "Description": f"Read from SSM /{PREFIX[env]}/frontend/url"}
    (client,) = resources(t, "AWS::Cognito::UserPoolClient").values()
    site = [{"Ref": "SiteUrl"}, {"Fn::Sub": "${SiteUrl}/"}]
    domain = load_config(env=env).env.edge.domain
    if domain:  # prod's example configures one; the site answers under it too
        site.append(f"https://{domain}/")
    assert client["Properties"]["CallbackURLs"] == site and client["Properties"]["LogoutURLs"] == site
    assert len(site) == {"dev": 2, "prod": 3}[env]


@pytest.mark.parametrize("env", ENVS)
def test_user_pool_signs_in_by_email_with_a_strong_password_and_no_self_sign_up(env: str) -> None:
    (pool,) = resources(template(env, "auth"), "AWS::Cognito::UserPool").values()
    p = pool["Properties"]
    assert p["UsernameAttributes"] == ["email"]
    assert p["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    policy = p["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12 and all(policy[k] for k in (
        "RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"))
    assert "UserPoolAddOns" not in p and p["UserPoolTier"] == "LITE", "threat protection is off by default"
    assert p["DeletionProtection"] == {"dev": "INACTIVE", "prod": "ACTIVE"}[env]
    assert pool["DeletionPolicy"] == "Retain", "the pool holds the users' accounts"
    (domain,) = resources(template(env, "auth"), "AWS::Cognito::UserPoolDomain").values()
    assert domain["Properties"]["Domain"] == f"{PREFIX[env]}-signin"


@pytest.mark.parametrize("env", ENVS)
def test_auth_publishes_the_five_parameters(env: str) -> None:
    params = {r["Properties"]["Name"]: r["Properties"]["Value"]
              for r in resources(template(env, "auth"), "AWS::SSM::Parameter").values()}
    p = PREFIX[env]
    assert set(params) == {f"/{p}/auth/{k}" for k in AUTH_KEYS}
    assert params[f"/{p}/auth/issuer"] == {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"}
    assert params[f"/{p}/auth/audience"] == params[f"/{p}/auth/client-id"] == {"Ref": "AppClient"}
    hosted = "https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com/oauth2/"
    assert params[f"/{p}/auth/authorize-url"] == {"Fn::Sub": hosted + "authorize"}
    assert params[f"/{p}/auth/token-url"] == {"Fn::Sub": hosted + "token"}


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("stack", ["app-api", "inference-api"])
def test_services_read_issuer_and_audience_from_ssm(env: str, stack: str) -> None:
    t = template(env, stack)
    for name, path in (("AuthIssuer", "issuer"), ("AuthAudience", "audience")):
        assert t["Parameters"][name]["Type"] == "AWS::SSM::Parameter::Value<String>"
        assert t["Parameters"][name]["Default"] == f"/{PREFIX[env]}/auth/{path}"
    env_vars = container_env(t)
    assert env_vars["AUTH_ISSUER"] == {"Ref": "AuthIssuer"} and env_vars["AUTH_AUDIENCE"] == {"Ref": "AuthAudience"}
    assert "AUTH_DISABLED" not in env_vars


def test_limits_reach_the_container_with_the_environments_override() -> None:
    dev, prod = container_env(template("dev", "inference-api")), container_env(template("prod", "inference-api"))
    assert {k: dev[k] for k in ("MAX_BODY_BYTES", "BEDROCK_MAX_TOKENS", "BEDROCK_MAX_INPUT_CHARS",
                                "BEDROCK_MAX_MESSAGES", "MAX_STREAMS_PER_USER")} == {
        "MAX_BODY_BYTES": "262144", "BEDROCK_MAX_TOKENS": "1024", "BEDROCK_MAX_INPUT_CHARS": "32000",
        "BEDROCK_MAX_MESSAGES": "40", "MAX_STREAMS_PER_USER": "4"}
    assert prod["MAX_STREAMS_PER_USER"] == "2"
    app = container_env(template("dev", "app-api"))
    assert app["MAX_BODY_BYTES"] == "65536" and "BEDROCK_MAX_TOKENS" not in app  # only the limits set


def test_auth_off_removes_the_stack_and_disables_auth_in_every_service() -> None:
    cfg = load_config()
    off = replace(cfg, env=replace(cfg.env, auth=AuthConfig(provider="off")))
    rendered = {s: json.loads(t) for s, t in render(off).items()}
    assert "auth" not in rendered
    for stack in ("app-api", "inference-api"):
        env_vars = container_env(rendered[stack])
        assert env_vars["AUTH_DISABLED"] == "1" and "AUTH_ISSUER" not in env_vars
        assert not any(p.startswith("Auth") for p in rendered[stack]["Parameters"])
    csp = json.dumps(rendered["frontend"])
    assert "connect-src 'self';" in csp


def test_threat_protection_is_a_switch_that_brings_the_plus_plan() -> None:
    cfg = load_config()
    on = replace(cfg, env=replace(cfg.env, auth=replace(cfg.env.auth, advanced_security="ENFORCED",
                                                         self_sign_up=True)))
    (pool,) = resources(json.loads(render(on)["auth"]), "AWS::Cognito::UserPool").values()
    assert pool["Properties"]["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    assert pool["Properties"]["UserPoolTier"] == "PLUS"
    assert pool["Properties"]["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": False}


def test_oidc_publishes_the_configured_values_only() -> None:
    cfg = load_config()
    oidc = AuthConfig(provider="oidc", issuer="https://login.example.com/tenant/", audience="api://platform",
                      client_id="spa-123", token_url="https://login.example.com/tenant/oauth2/token")
    rendered = {s: json.loads(t) for s, t in render(replace(cfg, env=replace(cfg.env, auth=oidc))).items()}
    auth = rendered["auth"]
    assert {r["Type"] for r in auth["Resources"].values()} == {"AWS::SSM::Parameter"}
    assert "Parameters" not in auth, "no reads: an external issuer does not wait for the site"
    values = {r["Properties"]["Name"].rsplit("/", 1)[1]: r["Properties"]["Value"] for r in auth["Resources"].values()}
    assert values == {"issuer": "https://login.example.com/tenant/", "audience": "api://platform",
                      "client-id": "spa-123", "token-url": "https://login.example.com/tenant/oauth2/token"}
    # No authorize_url configured: no parameter, so the site reads the issuer's discovery document.
    assert "connect-src 'self' https://login.example.com;" in json.dumps(rendered["frontend"])


@pytest.mark.parametrize("env", ENVS)
def test_site_csp_admits_only_the_identity_providers_origins(env: str) -> None:
    (policy,) = resources(template(env, "frontend"), "AWS::CloudFront::ResponseHeadersPolicy").values()
    csp = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    (connect,) = [d.strip() for d in csp["ContentSecurityPolicy"].split(";") if d.strip().startswith("connect-src")]
    assert connect.split() == ["connect-src", "'self'", f"https://{PREFIX[env]}-signin.auth.us-east-1.amazoncognito.com",
                               "https://cognito-idp.us-east-1.amazonaws.com"]


@pytest.mark.parametrize("env", ENVS)
def test_deploy_order_is_frontend_then_auth_then_services(env: str) -> None:
    contract = build_contract({p.stem: json.loads(p.read_text()) for p in (ROOT / "templates" / env).glob("*.json")})
    step = {s: i for i, batch in enumerate(launch_order(contract)) for s in batch}
    assert step["infrastructure"] < step["frontend"] < step["auth"] < step["app-api"] == step["inference-api"]
    assert contract.writer[f"/{PREFIX[env]}/alerts/topic-arn"] == "alerts"
    assert contract.dependencies("auth") == {"frontend"} and contract.dependencies("alerts") == set()


@pytest.mark.parametrize("env", ENVS)
def test_alarms_watch_exactly_the_configured_models_daily(env: str) -> None:
    t = template(env, "alerts")
    models = {m for s in load_config(env=env).services for m in s.bedrock_models}
    alarms = resources(t, "AWS::CloudWatch::Alarm").values()
    watched = sorted((a["Properties"]["MetricName"], a["Properties"]["Dimensions"][0]["Value"]) for a in alarms)
    assert watched == sorted((m, model) for model in models for m in ("InputTokenCount", "OutputTokenCount"))
    (topic_id,) = resources(t, "AWS::SNS::Topic")
    for a in alarms:
        p = a["Properties"]
        assert (p["Namespace"], p["Statistic"], p["Period"], p["EvaluationPeriods"]) == ("AWS/Bedrock", "Sum", 86400, 1)
        assert p["Period"] * p["EvaluationPeriods"] <= 7 * 86400, "CloudWatch's limit for periods of an hour or more"
        assert p["Dimensions"][0]["Name"] == "ModelId" and p["AlarmActions"] == [{"Ref": topic_id}]
        assert p["Threshold"] > 0 and p["TreatMissingData"] == "notBreaching"


def test_alarms_follow_the_service_list_and_share_a_model_once() -> None:
    cfg = load_config()
    extra = replace(cfg.services[1], name="batch-api", bedrock_models=(
        "anthropic.claude-3-haiku-20240307-v1:0", "amazon.nova-micro-v1:0"))
    t = json.loads(json.dumps(build_alerts(replace(cfg, services=(*cfg.services, extra))).to_dict()))
    alarms = resources(t, "AWS::CloudWatch::Alarm").values()
    models = sorted({a["Properties"]["Dimensions"][0]["Value"] for a in alarms})
    assert models == ["amazon.nova-micro-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"]
    assert len(alarms) == 4


def test_topic_is_encrypted_with_a_key_cloudwatch_may_use_and_emails_subscribe() -> None:
    t = template("dev", "alerts")
    (topic,) = resources(t, "AWS::SNS::Topic").values()
    (key_id, key), = resources(t, "AWS::KMS::Key").items()
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    grants = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
              if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert grants and set(grants[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    subs = resources(t, "AWS::SNS::Subscription").values()
    assert [(s["Properties"]["Protocol"], s["Properties"]["Endpoint"]) for s in subs] == [
        ("email", "platform-team@example.com")]
    assert resources(t, "AWS::Budgets::Budget") == {}, "dev sets no monthly budget"


def test_prod_budget_covers_the_configured_services_and_mails_the_same_addresses() -> None:
    (budget,) = resources(template("prod", "alerts"), "AWS::Budgets::Budget").values()
    data = budget["Properties"]["Budget"]
    assert data["BudgetLimit"] == {"Amount": 300.0, "Unit": "USD"} and data["TimeUnit"] == "MONTHLY"
    assert data["CostFilters"] == {"Service": ["Amazon Bedrock", "Claude 3 Haiku (Amazon Bedrock Edition)"]}
    for n in budget["Properties"]["NotificationsWithSubscribers"]:
        assert n["Subscribers"] == [{"SubscriptionType": "EMAIL", "Address": "platform-team@example.com"}]


def test_cost_counts_the_key_alarms_and_budget_and_notes_cognito_pricing() -> None:
    from deployer.planning.cost import estimate_stack
    from deployer.planning.prices import load_prices

    prices = load_prices()
    alerts = estimate_stack("alerts", template("prod", "alerts"), prices)
    by_type = {line.item.split(" (")[0]: line.monthly_usd for line in alerts.lines}
    r = prices.rates
    assert by_type["KMS customer managed key"] == pytest.approx(r["kms_key_month"])
    assert by_type["AWS Budgets budget"] == pytest.approx(r["budget_day"] * prices.hours_per_month / 24)
    alarms = [ln for ln in alerts.lines if ln.item.startswith("CloudWatch alarm")]
    assert len(alarms) == 2 and alerts.monthly_usd == pytest.approx(
        r["kms_key_month"] + 2 * r["cloudwatch_alarm_month"] + r["budget_day"] * prices.hours_per_month / 24)
    assert any("first 10 alarms" in n for n in alerts.notes)
    auth = estimate_stack("auth", template("dev", "auth"), prices)
    assert auth.monthly_usd == 0 and any("monthly active user" in n for n in auth.notes)


@pytest.mark.moto_required("AWS::SSM::Parameter", "AWS::ECS::TaskDefinition", "AWS::SNS::Topic", "AWS::KMS::Key")
def test_deployed_services_get_the_issuer_the_auth_stack_published(aws: Aws) -> None:
    """Through the emulator: the contract holds at run time, not only in the templates (Cognito, the
    alarms and the budget are the emulator's placeholders; the SSM wiring between stacks is real)."""
    done = aws.deploy("--stack", "all", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    ssm = aws.client("ssm")
    values = {k: ssm.get_parameter(Name=f"/layered-dev/auth/{k}")["Parameter"]["Value"] for k in AUTH_KEYS}
    assert values["issuer"].startswith("https://cognito-idp.us-east-1.amazonaws.com/")
    topic = ssm.get_parameter(Name="/layered-dev/alerts/topic-arn")["Parameter"]["Value"]
    sns = aws.client("sns")
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"].startswith("arn:aws:kms:")
    ecs = aws.client("ecs")
    for family in ("layered-dev-app-api", "layered-dev-inference-api"):
        task = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
        env = {e["name"]: e["value"] for e in task["containerDefinitions"][0]["environment"]}
        assert (env["AUTH_ISSUER"], env["AUTH_AUDIENCE"]) == (values["issuer"], values["audience"])
        assert "AUTH_DISABLED" not in env and env["MAX_BODY_BYTES"]
