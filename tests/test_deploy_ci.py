"""The `ci` stack on moto's server over HTTP: deployed only when named, its roles read back via IAM."""

from __future__ import annotations

import ast
import hashlib
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from deploy_support import REPO, Aws

from deployer.aws import runner
from deployer.commands.actions import Context
from deployer.commands.planned import holds_what_it_claims
from deployer.planning.planner import StackPlan
from deployer.presentation.report import Reporter

PREFIX = "layered-dev"
FORBIDDEN_TO_PLAN = {"cloudformation:ExecuteChangeSet", "ssm:PutParameter", "ecr:PutImage", "iam:PassRole",
                     "kms:Decrypt"}


def _policy(iam: Any, role: str) -> list[dict[str, Any]]:
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    statements: list[dict[str, Any]] = []
    for name in names:
        doc = _document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
        statements += doc["Statement"]
    return statements


def _listed(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def _grants(statements: list[dict[str, Any]], action: str) -> bool:
    """Whether an Allow statement matches the action (service wildcards included)."""
    service = action.split(":")[0]
    return any(a in (action, f"{service}:*", "*") for st in statements if st["Effect"] == "Allow"
               for a in _listed(st["Action"]))


def _trust(iam: Any, role: str) -> dict[str, Any]:
    doc = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    return _document(doc)


def _document(doc: Any) -> dict[str, Any]:
    """IAM returns URL-encoded JSON; moto's CloudFormation stores inline policies as a Python repr."""
    if not isinstance(doc, str):
        return dict(doc)
    text = unquote(doc)
    try:
        return dict(json.loads(text))
    except json.JSONDecodeError:
        return dict(ast.literal_eval(text))


def test_ci_stack_deploys_only_when_named_and_its_roles_are_scoped(aws: Aws) -> None:
    everything = aws.deploy("--stack", "all", "--plan")
    assert f"{PREFIX}-ci" not in everything.stdout + everything.stderr
    done = aws.deploy("--stack", "ci", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    iam, ssm = aws.client("iam"), aws.client("ssm")
    arns = {k: ssm.get_parameter(Name=f"/{PREFIX}/ci/{k}")["Parameter"]["Value"]
            for k in ("plan-role-arn", "deploy-role-arn")}
    assert f"AWS_PLAN_ROLE_ARN    = {arns['plan-role-arn']}" in done.stdout
    assert f"AWS_DEPLOY_ROLE_ARN  = {arns['deploy-role-arn']}" in done.stdout
    # moto's CloudFormation does not model AWS::IAM::OIDCProvider (a placeholder stands in for it):
    # the provider itself is checked in the template (tests/test_templates_ci.py).

    plan = _policy(iam, f"{PREFIX}-ci-plan")
    assert not [a for a in FORBIDDEN_TO_PLAN if _grants(plan, a)]
    assert _grants(plan, "cloudformation:CreateChangeSet") and _grants(plan, "ssm:GetParameters")
    # Denied outright, not merely left out: the aws/ssm key's own policy would otherwise decrypt a
    # SecureString for any principal that may read the parameter.
    denied = {a for st in plan if st["Effect"] == "Deny" for a in _listed(st["Action"])}
    assert FORBIDDEN_TO_PLAN | {"secretsmanager:GetSecretValue"} <= denied
    uploads = [st for st in plan if "s3:PutObject" in _listed(st["Action"])]
    assert all(str(r).endswith("/plan/*") for st in uploads for r in _listed(st["Resource"])), uploads
    condition = _trust(iam, f"{PREFIX}-ci-plan")["Statement"][0]["Condition"]["StringEquals"]
    assert condition["token.actions.githubusercontent.com:sub"] == \
        "repo:example-org/layered-platform:environment:dev-plan"
    assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"

    deploy = _policy(iam, f"{PREFIX}-ci-deploy")
    deploy_sub = _trust(iam, f"{PREFIX}-ci-deploy")["Statement"][0]["Condition"]["StringEquals"]
    assert deploy_sub["token.actions.githubusercontent.com:sub"] == "repo:example-org/layered-platform:environment:dev"
    _deploy_role_is_what_deploy_py_calls(deploy)
    _cloudformation_role_is_cloudformations_alone(iam)
    for role in ("plan", "deploy"):  # never a secret's value, never a SecureString decrypted
        statements = _policy(iam, f"{PREFIX}-ci-{role}")
        assert not _grants(statements, "kms:Decrypt") and not _grants(statements, "secretsmanager:GetSecretValue")
        denied = {a: st for st in statements if st["Effect"] == "Deny" for a in _listed(st["Action"])}
        assert denied["secretsmanager:GetSecretValue"]["Resource"] in ("*", ["*"])
        assert denied["kms:Decrypt"]["Condition"] == {
            "StringNotLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}


CFN_ROLE = f"arn:aws:iam::123456789012:role/{PREFIX}-ci-cloudformation"


def _deploy_role_is_what_deploy_py_calls(deploy: list[dict[str, Any]]) -> None:
    allowed = [st for st in deploy if st["Effect"] == "Allow"]
    for action, marker in (("cloudformation:ExecuteChangeSet", f"stack/{PREFIX}-"),
                           ("ssm:PutParameter", f"parameter/{PREFIX}/"), ("ecr:PutImage", f"repository/{PREFIX}/"),
                           ("secretsmanager:PutSecretValue", f"secret:{PREFIX}/")):
        [scoped] = [st for st in allowed if action in _listed(st["Action"])]
        # A change set's ARN names no stack (changeSet/<name>/<id>); its stack's ARN is checked as well.
        assert all(marker in str(r) or ":changeSet/" in str(r) for r in _listed(scoped["Resource"])), scoped
    # No service namespace as a whole, nothing the stacks create: that is the CloudFormation role's.
    assert not [a for st in allowed for a in _listed(st["Action"]) if a.endswith(":*")]
    assert not _grants(deploy, "iam:CreateRole") and not _grants(deploy, "ec2:CreateVpc")
    [create] = [st for st in allowed if "cloudformation:CreateChangeSet" in _listed(st["Action"])]
    assert create["Condition"] == {"StringEquals": {"cloudformation:RoleArn": CFN_ROLE}}
    [passing] = [st for st in allowed if "iam:PassRole" in _listed(st["Action"])]
    assert _listed(passing["Resource"]) == [CFN_ROLE]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
    denied = [st for st in deploy if st["Effect"] == "Deny" and "s3:GetObject" in _listed(st["Action"])]
    assert [str(r).endswith("/plan/*") for st in denied for r in _listed(st["Resource"])] == [True]
    star = {a for st in allowed if _listed(st["Resource"]) == ["*"] for a in _listed(st["Action"])}
    assert star <= {"ecr:GetAuthorizationToken", "sts:GetCallerIdentity", "s3:ListAllMyBuckets",
                    "cloudformation:DescribeStacks",
                    "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "cloudwatch:DescribeAlarms",
                    "elasticloadbalancing:DescribeTargetHealth"}, star


def _cloudformation_role_is_cloudformations_alone(iam: Any) -> None:
    [trust] = _trust(iam, f"{PREFIX}-ci-cloudformation")["Statement"]
    assert trust["Principal"] == {"Service": "cloudformation.amazonaws.com"} and trust["Effect"] == "Allow"
    statements = _policy(iam, f"{PREFIX}-ci-cloudformation")
    assert _grants(statements, "ec2:CreateVpc") and _grants(statements, "iam:CreateRole")
    [passing] = [st for st in statements if st["Effect"] == "Allow" and "iam:PassRole" in _listed(st["Action"])]
    assert _listed(passing["Resource"]) == [f"arn:aws:iam::123456789012:role/{PREFIX}-*"]
    [own] = [st for st in statements if st["Effect"] == "Deny" and "iam:*" in _listed(st["Action"])]
    assert {r.rsplit("/", 1)[1] for r in _listed(own["Resource"])} == {
        f"{PREFIX}-ci-plan", f"{PREFIX}-ci-deploy", f"{PREFIX}-ci-cloudformation"}


def test_change_sets_name_the_cloudformation_role_once_the_ci_stack_exists(aws: Aws) -> None:
    cf = aws.client("cloudformation")
    before = aws.deploy("--stack", "registry", "--yes")  # no ci stack: exactly as before, the caller acts
    assert before.returncode == 0, before.stdout + before.stderr
    assert "RoleARN" not in cf.describe_stacks(StackName=f"{PREFIX}-registry")["Stacks"][0]
    assert "CloudFormation acts through" not in before.stdout
    assert aws.deploy("--stack", "ci", "--yes").returncode == 0
    assert "RoleARN" not in cf.describe_stacks(StackName=f"{PREFIX}-ci")["Stacks"][0]  # an administrator's
    assert aws.client("ssm").get_parameter(Name=f"/{PREFIX}/ci/cloudformation-role-arn")["Parameter"]["Value"] \
        == CFN_ROLE
    # --plan names no role (the plan role may pass none); --execute on a stack not yet bound to the
    # role makes the change set again, with it, rather than run it with the caller's own rights.
    planned = aws.deploy("--stack", "alerts", "--plan")
    assert planned.returncode == 3, planned.stdout + planned.stderr
    assert "CloudFormation acts through" not in planned.stdout
    executed = aws.deploy("--stack", "alerts", "--execute", "--yes")
    assert executed.returncode == 0, executed.stdout + executed.stderr
    assert f"CloudFormation acts through the ci stack's role {CFN_ROLE}" in executed.stdout
    assert "making its change set again from the same template, with the role" in executed.stdout
    # The stack is bound to the role by the change set that created it. (moto binds a role only on
    # create; AWS also on an update's change set: change_set_args is the same code for both.)
    assert cf.describe_stacks(StackName=f"{PREFIX}-alerts")["Stacks"][0]["RoleARN"] == CFN_ROLE


def test_ci_stack_refuses_an_environment_of_another_account(aws: Aws, tmp_path: Path) -> None:
    text = (REPO / "platform.toml").read_text(encoding="utf-8")
    config = tmp_path / "platform.toml"
    config.write_text(text.replace('vpc_cidr = "10.20.0.0/16"', 'account_id = "210987654321"\n'
                                   'vpc_cidr = "10.20.0.0/16"', 1), encoding="utf-8")
    done = aws.deploy("--config", str(config), "--stack", "ci", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "credentials are for account 123456789012, but environment dev is account 210987654321" in line
    assert aws.client("iam").list_roles()["Roles"] == [] and aws.stacks() == {}


def test_ci_repository_must_be_owner_slash_name(tmp_path: Path, aws: Aws) -> None:
    text = (REPO / "platform.toml").read_text(encoding="utf-8")
    config = tmp_path / "platform.toml"
    config.write_text(text.replace('repository = "example-org/layered-platform"', 'repository = "layered"'),
                      encoding="utf-8")
    done = aws.deploy("--config", str(config), "--stack", "ci", "--yes")
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: platform.toml: ci.repository: 'layered' is not accepted "
                                   "(expected \"owner/name\", the GitHub repository)")
    assert aws.stacks() == {}


def test_execute_runs_only_a_change_set_that_holds_the_committed_template(aws: Aws) -> None:
    """A pull request's plan job (the plan role) can make a change set under any name, with any
    Description: --execute compares what the change set holds, not what it says."""
    assert aws.deploy("--stack", "alerts", "--yes").returncode == 0
    committed = (REPO / "templates" / "dev" / "alerts.json").read_text(encoding="utf-8")
    digest = hashlib.sha256(committed.encode("utf-8")).hexdigest()
    planted = json.loads(committed)
    planted["Resources"]["Planted"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "planted"}}
    cf = aws.client("cloudformation")
    cs = cf.create_change_set(StackName=f"{PREFIX}-alerts", ChangeSetName="planted", ChangeSetType="UPDATE",
                              TemplateBody=json.dumps(planted), Description=f"deploy.py alerts sha256={digest}",
                              Capabilities=["CAPABILITY_NAMED_IAM"])
    done = aws.deploy("--stack", "alerts", "--execute", "--change-set-name", "planted", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == (
        f"error: change set planted of {PREFIX}-alerts holds a template or parameter values other than alerts.json "
        "(its description says otherwise): it was not made by --plan from this commit, nothing was executed — "
        "delete it, run --plan again and review")
    assert cf.describe_change_set(ChangeSetName=cs["Id"])["ExecutionStatus"] == "AVAILABLE"
    assert "planted" not in {t["TopicArn"].rsplit(":", 1)[1] for t in aws.client("sns").list_topics()["Topics"]}


def test_a_planned_change_set_must_leave_every_parameter_at_its_default(
        aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in aws.env.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    topic = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "Name"}}}
    body = json.dumps({"Parameters": {"Name": {"Type": "String", "Default": "reviewed"}},
                       "Resources": {"Topic": topic}})
    sp = StackPlan("probe", "probe", tmp_path / "probe.json", body, {})
    ctx = Context(runner.Clients("us-east-1"), Reporter("us-east-1", stream=io.StringIO()), {})
    cf = aws.client("cloudformation")
    for name, value, holds in (("as-planned", "reviewed", True), ("overridden", "other", False)):
        made = cf.create_change_set(StackName=f"probe-{name}", ChangeSetName=name, ChangeSetType="CREATE",
                                    TemplateBody=body, Parameters=[{"ParameterKey": "Name", "ParameterValue": value}])
        # AWS lists every parameter with its value; moto lists only those passed: either way the
        # overridden one shows its value, and a default-only change set holds what was reviewed.
        assert holds_what_it_claims(ctx, sp, cf.describe_change_set(ChangeSetName=made["Id"])) is holds, name
