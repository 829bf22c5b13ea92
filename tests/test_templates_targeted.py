"""Targeted checks on what the generators emit: routing, ECR lifecycle, IAM scope, security groups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENVS = ("dev", "prod")


def template(env: str, stack: str) -> dict[str, Any]:
    return json.loads((ROOT / "templates" / env / f"{stack}.json").read_text())


def resources(t: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in t["Resources"].values() if r["Type"] == kind]


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize(("stack", "paths", "priority", "health"), [
    ("app-api", ["/api/*", "/health"], 1, "/health"),
    ("inference-api", ["/inference/*"], 10, "/inference/health"),
])
def test_listener_rules_route_each_service(env: str, stack: str, paths: list[str], priority: int, health: str) -> None:
    t = template(env, stack)
    (rule,) = resources(t, "AWS::ElasticLoadBalancingV2::ListenerRule")
    props = rule["Properties"]
    assert props["Priority"] == priority
    assert props["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": paths}}]
    (tg,) = resources(t, "AWS::ElasticLoadBalancingV2::TargetGroup")
    tgp = tg["Properties"]
    assert (tgp["TargetType"], tgp["HealthCheckPath"], tgp["HealthCheckIntervalSeconds"],
            tgp["HealthyThresholdCount"]) == ("ip", health, 10, 2)
    delay = {a["Key"]: a["Value"] for a in tgp["TargetGroupAttributes"]}["deregistration_delay.timeout_seconds"]
    assert int(delay) <= 30
    (svc,) = resources(t, "AWS::ECS::Service")
    assert svc["DependsOn"][:2] == ["ListenerRule", "AlbEgressToService"]
    assert "DesiredCount" not in svc["Properties"], "autoscaled services must not reset their count on update"
    deploy = svc["Properties"]["DeploymentConfiguration"]
    assert deploy["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert (deploy["MinimumHealthyPercent"], deploy["MaximumPercent"]) == (100, 200)
    assert svc["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"


@pytest.mark.parametrize("env", ENVS)
def test_service_inputs_are_ssm_typed_and_the_image_tag_comes_from_ssm(env: str) -> None:
    prefix = {"dev": "layered-dev", "prod": "layered-prod"}[env]
    for stack in ("app-api", "inference-api"):
        params = template(env, stack)["Parameters"]
        assert params["Subnets"]["Type"] == "AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>"
        assert params["Subnets"]["Default"] == f"/{prefix}/network/private-subnet-ids"
        assert params["ImageTag"] == {
            "Type": "AWS::SSM::Parameter::Value<String>", "Default": f"/{prefix}/{stack}/image-tag",
            "Description": f"Read from SSM /{prefix}/{stack}/image-tag",
        }
        (task,) = resources(template(env, stack), "AWS::ECS::TaskDefinition")
        assert task["Properties"]["ContainerDefinitions"][0]["Image"] == {"Fn::Sub": "${RepositoryUri}:${ImageTag}"}


@pytest.mark.parametrize("env", ENVS)
def test_ecr_lifecycle_has_one_prefix_per_rule_and_expires_untagged(env: str) -> None:
    repos = resources(template(env, "registry"), "AWS::ECR::Repository")
    assert len(repos) == 2
    for repo in repos:
        rules = json.loads(repo["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        prefixes = [r["selection"]["tagPrefixList"] for r in rules if r["selection"]["tagStatus"] == "tagged"]
        assert prefixes == [["latest"], ["deployed"], ["prod"], ["staging"], ["v"], ["release"]]
        assert all(p and all(p) for p in prefixes), "ECR rejects an empty tag prefix"
        untagged = rules[-1]
        assert untagged["selection"] == {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                         "countUnit": "days", "countNumber": 7}
        assert [r["rulePriority"] for r in rules] == list(range(1, 8))
        assert repo["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert repo["Properties"]["ImageTagMutability"] == "IMMUTABLE"


def _statements(t: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for logical_id, res in t["Resources"].items():
        if res["Type"] == "AWS::IAM::Role":
            for policy in res["Properties"].get("Policies", []):
                found += [(logical_id, s) for s in policy["PolicyDocument"]["Statement"]]
    return found


@pytest.mark.parametrize("env", ENVS)
def test_iam_has_no_wildcards_except_ecr_login(env: str) -> None:
    for stack in ("app-api", "inference-api"):
        for role, st in _statements(template(env, stack)):
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), (stack, role, st)
            if st["Resource"] == ["*"]:
                assert actions == ["ecr:GetAuthorizationToken"], (stack, role, st)


@pytest.mark.parametrize("env", ENVS)
def test_only_the_inference_task_role_may_call_bedrock_and_only_configured_models(env: str) -> None:
    app = [s for r, s in _statements(template(env, "app-api")) if r == "TaskRole"]
    assert app == []
    task = [s for r, s in _statements(template(env, "inference-api")) if r == "TaskRole"]
    (stmt,) = [s for s in task if any(a.startswith("bedrock:") for a in s["Action"])]
    # The rest is the agent's session bucket (tests/test_templates_agent.py).
    assert all(a.startswith("s3:") for s in task if s is not stmt for a in s["Action"])
    assert stmt["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    assert stmt["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/"
                                           "anthropic.claude-3-haiku-20240307-v1:0"}]


@pytest.mark.parametrize("env", ENVS)
def test_service_security_groups_admit_only_the_load_balancer(env: str) -> None:
    for stack in ("app-api", "inference-api"):
        (sg,) = resources(template(env, stack), "AWS::EC2::SecurityGroup")
        (rule,) = sg["Properties"]["SecurityGroupIngress"]
        assert rule["SourceSecurityGroupId"] == {"Ref": "AlbSecurityGroupId"}
        assert "CidrIp" not in rule and rule["FromPort"] == rule["ToPort"] == 8000


def test_network_spans_two_azs_by_zone_id_with_one_nat_gateway() -> None:
    t = template("dev", "infrastructure")
    subnets = resources(t, "AWS::EC2::Subnet")
    assert len(subnets) == 4
    assert {s["Properties"]["AvailabilityZoneId"] for s in subnets} == {"use1-az1", "use1-az2"}
    # dev: the NAT instance (tests/test_capacity_schedule.py); prod keeps one NAT gateway.
    assert len(resources(template("prod", "infrastructure"), "AWS::EC2::NatGateway")) == 1
    (alb,) = resources(t, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attrs = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attrs["deletion_protection.enabled"] == "false"
    prod_alb = resources(template("prod", "infrastructure"), "AWS::ElasticLoadBalancingV2::LoadBalancer")[0]
    assert {a["Key"]: a["Value"] for a in prod_alb["Properties"]["LoadBalancerAttributes"]}[
        "deletion_protection.enabled"] == "true"
    (cluster,) = resources(t, "AWS::ECS::Cluster")
    assert cluster["Properties"]["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]


@pytest.mark.parametrize("stack", ["app-api", "inference-api"])
def test_timeouts_agree_between_load_balancer_task_and_service(stack: str) -> None:
    """The three timeouts live in three places; a mismatch shows up only as 502s or killed requests."""
    from service_kit import server  # both services run through service-kit's server module

    (alb,) = resources(template("dev", "infrastructure"), "AWS::ElasticLoadBalancingV2::LoadBalancer")
    idle = int({a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}[
        "idle_timeout.timeout_seconds"])
    assert idle < server.KEEP_ALIVE_SECONDS, "the service must outlive the load balancer's idle connections"
    (task,) = resources(template("dev", stack), "AWS::ECS::TaskDefinition")
    stop = task["Properties"]["ContainerDefinitions"][0]["StopTimeout"]
    assert stop > server.GRACEFUL_SHUTDOWN_SECONDS, "SIGKILL must not arrive before graceful shutdown ends"


def test_the_site_runs_under_the_content_security_policy_cloudfront_sends() -> None:
    """The CSP allows only same-origin scripts and styles: an inline one would be blocked in browsers."""
    import re

    (policy,) = resources(template("dev", "frontend"), "AWS::CloudFront::ResponseHeadersPolicy")
    csp = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    assert "script-src 'self'" in csp["ContentSecurityPolicy"] and "'unsafe-inline'" not in csp["ContentSecurityPolicy"]
    site = ROOT / "services" / "frontend" / "src"
    html = (site / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> is blocked by the CSP"
    assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html), "inline styles and handlers are blocked"
    assert not re.search(r"\.innerHTML\s*=|\.style\.|https?://", (site / "app.js").read_text())


def test_environments_size_services_differently_from_one_service_list() -> None:
    def scaling(env: str, stack: str) -> tuple[int, int, str, str]:
        t = template(env, stack)
        (target,) = resources(t, "AWS::ApplicationAutoScaling::ScalableTarget")
        (task,) = resources(t, "AWS::ECS::TaskDefinition")
        p = target["Properties"]
        return p["MinCapacity"], p["MaxCapacity"], task["Properties"]["Cpu"], task["Properties"]["Memory"]

    assert scaling("dev", "app-api") == (1, 4, "256", "512")
    assert scaling("prod", "app-api") == (2, 8, "256", "512")
    assert scaling("prod", "inference-api") == (2, 8, "1024", "2048")
    rules = [resources(template(env, "inference-api"), "AWS::ElasticLoadBalancingV2::ListenerRule")[0]["Properties"]
             for env in ENVS]
    assert rules[0]["Priority"] == rules[1]["Priority"] == 10
