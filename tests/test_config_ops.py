"""`secrets`, `[services.alarms]`, `access_logs` and `flow_logs` (issue 11): what the configuration
accepts, what it refuses (one line, exit 2, nothing written), and what the templates then hold."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from config_support import config_error
from deploy_support import Aws
from zygote_support import run_deploy

from generators.config import load_config
from generators.service import build_service

ROOT = Path(__file__).resolve().parent.parent
BASE = (ROOT / "platform.toml").read_text()
APP_API_END = 'priority = 1\nhealth_check_path = "/health"\n'
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:layered/db-AbCdEf"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def with_app_api(lines: str, extra: str = "") -> str:
    assert APP_API_END in BASE
    # After app-api's last plain key, before its [services.limits] table: the lines stay app-api's.
    head, tail = BASE.split(APP_API_END, 1)
    plain, rest = tail.split("\n\n[services.limits]", 1)
    return f"{head}{APP_API_END}{plain}\n{lines}\n\n[services.limits]{rest}{extra}"


SECRETS = with_app_api(f'secrets = {{ DB_PASSWORD = "ssm:/layered/db-password", '
                       f'API_TOKEN = "secretsmanager:{SECRET_ARN}", '
                       f'DB_USER = "secretsmanager:{SECRET_ARN}:username" }}\nsecrets_kms_key = "{KEY_ARN}"')


def template(text: str, tmp_path: Path, service: str = "app-api", env: str = "dev") -> dict[str, Any]:
    config = tmp_path / "platform.toml"
    config.write_text(text)
    cfg = load_config(config, env)
    return build_service(cfg, next(s for s in cfg.services if s.name == service)).to_dict()


def test_secrets_become_container_secrets_and_the_execution_role_reads_exactly_those(tmp_path: Path) -> None:
    t = template(SECRETS, tmp_path)
    (container,) = t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
    assert secrets["API_TOKEN"] == SECRET_ARN
    assert secrets["DB_USER"] == f"{SECRET_ARN}:username::"
    assert secrets["DB_PASSWORD"] == {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:"
                                                 "parameter/layered/db-password"}
    assert not {e["Name"] for e in container["Environment"]} & set(secrets)
    policies = {p["PolicyName"]: p["PolicyDocument"]["Statement"]
                for p in t["Resources"]["ExecutionRole"]["Properties"]["Policies"]}
    statements = {s["Sid"]: s for s in policies["read-own-secrets"]}
    assert set(statements) == {"ReadOwnParameters", "ReadOwnSecrets", "DecryptWithNamedKey"}
    assert statements["ReadOwnParameters"]["Action"] == ["ssm:GetParameters"]
    assert statements["ReadOwnParameters"]["Resource"] == [secrets["DB_PASSWORD"]]
    assert statements["ReadOwnSecrets"]["Resource"] == [SECRET_ARN]  # once, though two variables read it
    assert statements["DecryptWithNamedKey"]["Resource"] == [KEY_ARN]
    # The other service and the committed templates get no secret access at all.
    other = template(SECRETS, tmp_path, "inference-api")
    assert [p["PolicyName"] for p in other["Resources"]["ExecutionRole"]["Properties"]["Policies"]] == [
        "pull-image-and-write-logs"]


def test_per_environment_secrets_are_merged(tmp_path: Path) -> None:
    text = SECRETS + '\n[environments.prod.services.app-api.secrets]\nDB_PASSWORD = "ssm:/layered/prod/db-password"\n'
    prod = template(text, tmp_path, env="prod")
    (container,) = prod["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert "parameter/layered/prod/db-password" in json.dumps(container["Secrets"])


def committed(env: str, stack: str) -> dict[str, Any]:
    return json.loads((ROOT / "templates" / env / f"{stack}.json").read_text())


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_deployment_alarms_are_wired_into_the_service_and_the_alerts_topic(env: str) -> None:
    prefix = f"layered-{env}"
    t = committed(env, "app-api")
    alarms = {k: r["Properties"] for k, r in t["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    names = [f"{prefix}-app-api-{k}" for k in ("5xx-count", "5xx-rate", "p99-latency", "unhealthy-hosts")]
    assert sorted(a["AlarmName"] for a in alarms.values()) == sorted(names)
    deploy = t["Resources"]["Service"]["Properties"]["DeploymentConfiguration"]
    assert deploy["Alarms"] == {"AlarmNames": names, "Enable": True, "Rollback": True}
    assert deploy["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert t["Parameters"]["AlertsTopicArn"]["Default"] == f"/{prefix}/alerts/topic-arn"
    for a in alarms.values():
        assert a["AlarmActions"] == [{"Ref": "AlertsTopicArn"}] and a["Threshold"] > 0
    assert alarms["P99LatencyAlarm"]["ExtendedStatistic"] == "p99"
    assert "100 * FILL(errors, 0) / requests" in json.dumps(alarms["Http5xxRateAlarm"]["Metrics"])
    alerts = committed(env, "alerts")
    assert any(r["Type"] == "AWS::SNS::Topic" for r in alerts["Resources"].values())


def test_alarm_thresholds_come_from_the_configuration(tmp_path: Path) -> None:
    t = template(with_app_api("[services.alarms]\nhttp_5xx_percent = 2.5\np99_response_seconds = 0.8"
                              ).replace("[services.alarms]", "\n[services.alarms]", 1), tmp_path)
    assert t["Resources"]["Http5xxRateAlarm"]["Properties"]["Threshold"] == 2.5
    assert t["Resources"]["P99LatencyAlarm"]["Properties"]["Threshold"] == 0.8
    assert t["Resources"]["Http5xxCountAlarm"]["Properties"]["Threshold"] == 10.0  # default kept


def access_logs_in(region: str) -> str:
    """The example configuration with dev in `region` and its access logs on."""
    assert BASE.count('region = "us-east-1"') >= 1 and "access_logs = false" in BASE
    return BASE.replace('region = "us-east-1"', f'region = "{region}"', 1).replace(
        "access_logs = false", "access_logs = true", 1)


# One region of each kind the ALB access-log page names (generators/elb_log_delivery.py): older than
# August 2022 (the region's ELB account; Milan was missing from the table before), and newer (the
# log-delivery service principal; an account id is refused there). The configuration accepts only
# the regions generators/edge_config.py has a CloudFront prefix list for (all older), so the
# generator is given the region directly.
@pytest.mark.parametrize(("region", "principal"), [
    ("eu-south-1", {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::635631232127:root"}}),
    ("ap-northeast-1", {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::582318560864:root"}}),
    ("eu-central-2", {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}),
    ("me-central-1", {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}),
])
def test_access_log_bucket_policy_names_the_regions_log_deliverer(region: str, principal: dict[str, Any],
                                                                   tmp_path: Path) -> None:
    from generators.infrastructure import build_infrastructure

    config = tmp_path / "platform.toml"
    config.write_text(access_logs_in("us-east-1"))
    cfg = load_config(config, "dev")
    t = build_infrastructure(replace(cfg, env=replace(cfg.env, region=region))).to_dict()
    writes, deny = t["Resources"]["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert writes["Principal"] == principal and writes["Action"] == "s3:PutObject"  # that one form, nothing else
    assert writes["Resource"] == {"Fn::Sub": "${AccessLogBucket.Arn}/AWSLogs/${AWS::AccountId}/*"}
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_access_logs_in_a_region_without_a_documented_deliverer_is_refused(refused_synth: Callable[..., str],
                                                                           tmp_path: Path) -> None:
    line = refused_synth(access_logs_in("cn-north-1"))
    assert "environments.dev.access_logs" in line and "'cn-north-1'" in line and "access_logs = false" in line
    # Off, the access logs ask nothing of the region (what refuses it then is the edge's own table).
    off = config_error(tmp_path / "off", access_logs_in("cn-north-1").replace("access_logs = true",
                                                                              "access_logs = false", 1))
    assert "access_logs" not in off and "'cn-north-1'" in off


def test_access_and_flow_logs_in_prod_only() -> None:
    prod, dev = committed("prod", "infrastructure"), committed("dev", "infrastructure")
    types = {r["Type"] for r in prod["Resources"].values()}
    assert {"AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::EC2::FlowLog"} <= types
    attrs = {a["Key"]: a["Value"] for a in prod["Resources"]["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]}
    assert attrs["access_logs.s3.enabled"] == "true" and attrs["access_logs.s3.bucket"] == {"Ref": "AccessLogBucket"}
    bucket = prod["Resources"]["AccessLogBucket"]["Properties"]
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"}
    (writes, _) = prod["Resources"]["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert writes["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::127311923021:root"}}  # us-east-1
    assert prod["Resources"]["FlowLogGroup"]["Properties"]["RetentionInDays"] == 90
    assert "CKV_AWS_91" not in json.dumps(prod["Resources"]["LoadBalancer"].get("Metadata", {}))
    assert not {"AWS::EC2::FlowLog", "AWS::S3::BucketPolicy"} & {r["Type"] for r in dev["Resources"].values()}


CASES = {
    "unknown scheme": (with_app_api('secrets = { DB_PASSWORD = "vault:/x" }'),
                       r"services\[0\]\.secrets\.DB_PASSWORD: 'vault:/x' has an unknown scheme 'vault'"),
    "partial arn": (with_app_api('secrets = { DB_PASSWORD = "secretsmanager:layered/db" }'),
                    r"is not a full Secrets Manager ARN .*describe-secret"),
    "arn without suffix": (with_app_api('secrets = { DB_PASSWORD = "secretsmanager:arn:aws:secretsmanager:'
                                        'us-east-1:123456789012:secret:db" }'), r"not a full Secrets Manager ARN"),
    "reserved secret name": (with_app_api('secrets = { PORT = "ssm:/x/port" }'),
                             r"secrets\.PORT: a variable the platform or AWS sets"),
    "bad ssm path": (with_app_api('secrets = { DB_PASSWORD = "ssm:no-slash" }'), r"is not an SSM parameter path"),
    "plain password": (with_app_api('environment = { DB_PASSWORD = "hunter2" }'),
                       r"environment\.DB_PASSWORD: looks like a secret.*expected it under secrets"),
    "plain token": (with_app_api('environment = { GITHUB_TOKEN = "x" }'), r"GITHUB_TOKEN: looks like a secret"),
    "plain key": (with_app_api('environment = { STRIPE_KEY = "x" }'), r"STRIPE_KEY: looks like a secret"),
    "zero threshold": (with_app_api("\n[services.alarms]\nhttp_5xx_count = 0"),
                       r"services\[0\]\.alarms\.http_5xx_count: 0 is not accepted \(expected a number > 0"),
    "negative threshold": (with_app_api("\n[services.alarms]\np99_response_seconds = -1.5"),
                           r"alarms\.p99_response_seconds: -1\.5 is not accepted"),
    "unknown alarm key": (with_app_api("\n[services.alarms]\nhttp_5xx = 3"), r"alarms\.http_5xx: unknown key"),
    "bad kms key": (with_app_api('secrets_kms_key = "alias/mine"'), r"secrets_kms_key: 'alias/mine' is not accepted"),
    "access_logs type": (BASE.replace("access_logs = false", 'access_logs = "yes"', 1),
                         r"environments\.dev\.access_logs: wrong type str"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_ops_config_is_one_line_exit_2(case: str, tmp_path: Path) -> None:
    text, expected = CASES[case]
    line = config_error(tmp_path, text)  # tests/config_support.py: the line deploy.py prints
    assert re.search(expected, line), line


def test_deploy_py_prints_that_line_exits_2_and_writes_nothing(refused_synth: Callable[..., str],
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    text, _ = CASES["plain password"]
    assert refused_synth(text) == config_error(tmp_path_factory.mktemp("in-process"), text)


def test_bedrock_max_tokens_is_not_taken_for_a_secret(tmp_path: Path) -> None:
    cfg = tmp_path / "platform.toml"
    cfg.write_text(with_app_api('environment = { FEATURE_TOKENS = "3", KEYBOARD = "us" }'))
    assert load_config(cfg).services[0].environment == (("FEATURE_TOKENS", "3"), ("KEYBOARD", "us"))


def test_preflight_names_missing_secrets_and_changes_nothing(aws: Aws, tmp_path: Path) -> None:
    config = tmp_path / "platform.toml"
    config.write_text(SECRETS)
    assert aws.deploy("--config", str(config), "--stack", "all", "--yes").returncode == 2
    ssm = aws.client("ssm")
    ssm.put_parameter(Name="/layered/db-password", Value="s3cret", Type="SecureString")
    done = aws.deploy("--config", str(config), "--stack", "all", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "app-api: secret API_TOKEN reads Secrets Manager secret" in done.stderr
    assert "DB_PASSWORD" not in done.stderr  # that one exists now
    assert aws.stacks() == {}


def test_cost_counts_the_log_bucket_and_names_the_log_volumes() -> None:
    proc = run_deploy(["--cost", "--env", "prod"], dict(os.environ), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"S3 Standard storage .*AccessLogBucket", proc.stdout)
    assert "AccessLogBucket: log objects kept 90 days" in proc.stdout
    assert "VPC flow logs: CloudWatch Logs vended-log ingestion" in proc.stdout
    assert proc.stdout.count("CloudWatch alarm (standard resolution)") >= 8  # four per service
