"""The agent's resources in the service template: the session bucket, its policy, and exactly what
the task role may do (the session prefix; configured models and inference profiles)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lint_support import cfn_lint_texts
from test_config_errors import edit
from test_templates_targeted import ENVS, resources, template

from generators.alerts import build_alerts
from generators.config import load_config
from generators.service import build_service

MODEL = 'bedrock_models = ["anthropic.claude-3-haiku-20240307-v1:0"]'
INVOKE = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
BUCKET_ARN = {"Fn::GetAtt": ["SessionBucket", "Arn"]}


def task_statements(t: dict[str, Any]) -> list[dict[str, Any]]:
    role = t["Resources"]["TaskRole"]["Properties"]
    return [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


def render(tmp_path: Path, text: str, env: str = "dev") -> tuple[dict[str, Any], dict[str, Any]]:
    config = tmp_path / "platform.toml"
    config.write_text(text)
    cfg = load_config(config, env)
    svc = next(s for s in cfg.services if s.name == "inference-api")
    return json.loads(build_service(cfg, svc).to_json()), json.loads(build_alerts(cfg).to_json())


@pytest.mark.parametrize("env", ENVS)
def test_session_bucket_is_private_encrypted_tls_only_and_expires(env: str) -> None:
    t = template(env, "inference-api")
    (bucket,) = resources(t, "AWS::S3::Bucket")
    props = bucket["Properties"]
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule["SSEAlgorithm"] in ("AES256", "aws:kms")
    block = props["PublicAccessBlockConfiguration"]
    assert set(block.values()) == {True} and len(block) == 4
    (lifecycle,) = props["LifecycleConfiguration"]["Rules"]
    assert (lifecycle["ExpirationInDays"], lifecycle["Prefix"], lifecycle["Status"]) == (30, "sessions/", "Enabled")
    (policy,) = resources(t, "AWS::S3::BucketPolicy")
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == ["s3:*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"][0] == BUCKET_ARN and deny["Resource"][1] == {"Fn::Sub": "${SessionBucket.Arn}/*"}
    env_vars = {e["Name"]: e["Value"] for e in resources(t, "AWS::ECS::TaskDefinition")[0]["Properties"][
        "ContainerDefinitions"][0]["Environment"]}
    assert env_vars["SESSION_BUCKET"] == {"Ref": "SessionBucket"} and env_vars["SESSION_PREFIX"] == "sessions"
    assert env_vars["AGENT_TOOLS"] == "current_time,calculator,web_search,http_fetch"
    assert env_vars["AGENT_FETCH_ALLOWED_HOSTS"] == "docs.aws.amazon.com"


@pytest.mark.parametrize("env", ENVS)
def test_task_role_reaches_only_the_session_prefix(env: str) -> None:
    s3 = [s for s in task_statements(template(env, "inference-api")) if s["Action"][0].startswith("s3:")]
    assert s3 == [
        {"Sid": "SessionObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": [{"Fn::Sub": "${SessionBucket.Arn}/sessions/*"}]},
        {"Sid": "ListSessions", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [BUCKET_ARN],
         "Condition": {"StringLike": {"s3:prefix": ["sessions/*"]}}},
    ]


def test_a_service_without_an_agent_table_gets_no_bucket() -> None:
    t = template("dev", "app-api")
    assert resources(t, "AWS::S3::Bucket") == [] and not any(s["Action"][0].startswith("s3:")
                                                            for s in task_statements(t))


def test_inference_profiles_grant_the_profile_and_its_models_through_it(tmp_path: Path) -> None:
    models = '["anthropic.claude-3-haiku-20240307-v1:0", "us.anthropic.claude-3-5-haiku-20241022-v1:0", ' \
             '"global.anthropic.claude-sonnet-4-5-20250929-v1:0"]'
    t, alerts = render(tmp_path, edit(MODEL, f"bedrock_models = {models}"))
    bedrock = [s for s in task_statements(t) if s["Action"] == INVOKE]
    part = "arn:${AWS::Partition}:bedrock"
    us = {"Fn::Sub": f"{part}:${{AWS::Region}}:${{AWS::AccountId}}:inference-profile/"
                     "us.anthropic.claude-3-5-haiku-20241022-v1:0"}
    glob = {"Fn::Sub": f"{part}:${{AWS::Region}}:${{AWS::AccountId}}:inference-profile/"
                       "global.anthropic.claude-sonnet-4-5-20250929-v1:0"}
    assert [(s["Sid"], s["Resource"], s.get("Condition")) for s in bedrock] == [
        ("InvokeConfiguredModels",
         [{"Fn::Sub": f"{part}:${{AWS::Region}}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"}], None),
        ("InvokeProfile0", [us], None),
        ("InvokeProfile0Models", [{"Fn::Sub": f"{part}:*::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"}],
         {"StringEquals": {"bedrock:InferenceProfileArn": us}}),
        ("InvokeProfile1", [glob], None),
        ("InvokeProfile1Models", [{"Fn::Sub": f"{part}:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"},
                                  {"Fn::Sub": f"{part}:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"}],
         {"StringEquals": {"bedrock:InferenceProfileArn": glob}}),
    ]
    # The spend guard's alarms watch what Bedrock reports as ModelId: the id the service calls.
    dims = {d["Value"] for a in resources(alerts, "AWS::CloudWatch::Alarm") for d in a["Properties"]["Dimensions"]}
    assert dims == {"anthropic.claude-3-haiku-20240307-v1:0", "us.anthropic.claude-3-5-haiku-20241022-v1:0",
                    "global.anthropic.claude-sonnet-4-5-20250929-v1:0"}


def test_the_example_config_builds_inference_api_with_the_agentcore_extra() -> None:
    svc = next(s for s in load_config().services if s.name == "inference-api")
    assert svc.extras == ("agentcore",) and svc.agent is not None


def test_only_a_service_with_the_browser_gets_nova_act_and_exactly_its_workflow(tmp_path: Path) -> None:
    plain = template("dev", "inference-api")
    assert resources(plain, "AWS::NovaAct::WorkflowDefinition") == []
    assert not any(str(s["Action"][0]).startswith("nova-act:") for s in task_statements(plain))
    assert not any(k.startswith(("AGENT_BROWSER", "NOVA_ACT")) for k in container_env(plain))
    text = edit('tools = ["current_time", "calculator", "web_search", "http_fetch"]', 'tools = ["browser"]').replace(
        'extras = ["agentcore"]', 'extras = ["agentcore", "browser"]', 1)
    t, _ = render(tmp_path, text)
    (workflow,) = resources(t, "AWS::NovaAct::WorkflowDefinition")
    assert workflow["Properties"]["Name"] == "layered-dev-inference-api"
    definition = ("arn:${AWS::Partition}:nova-act:us-east-1:${AWS::AccountId}:"
                  "workflow-definition/layered-dev-inference-api")
    nova = [s for s in task_statements(t) if str(s["Action"][0]).startswith("nova-act:")]
    assert nova == [{
        "Sid": "NovaActWorkflowRuns", "Effect": "Allow",
        "Action": ["nova-act:CreateWorkflowRun", "nova-act:UpdateWorkflowRun", "nova-act:CreateSession",
                   "nova-act:CreateAct", "nova-act:InvokeActStep", "nova-act:UpdateAct"],
        "Resource": [{"Fn::Sub": definition}, {"Fn::Sub": f"{definition}/workflow-run/*"}],
    }]
    env = container_env(t)
    assert env["AGENT_BROWSER_WORKFLOW"] == "layered-dev-inference-api" and env["AGENT_BROWSER_REGION"] == "us-east-1"
    assert env["AGENT_TOOLS"] == "browser" and env["AGENT_FETCH_ALLOWED_HOSTS"] == "docs.aws.amazon.com"
    assert not any(k.startswith("NOVA_ACT") for k in env)  # the API key is for local experiments only
    # Not a committed template (the browser is off in the example), so lint it here, informational rules too.
    assert cfn_lint_texts(json.dumps(t), ["us-east-1"]) == []


def container_env(t: dict[str, Any]) -> dict[str, Any]:
    (task,) = resources(t, "AWS::ECS::TaskDefinition")
    return {e["Name"]: e["Value"] for e in task["Properties"]["ContainerDefinitions"][0]["Environment"]}
