"""The `ci` stack against the emulator over HTTP: deployed with `deploy.py --stack ci` as an
administrator would, then its roles, trust and permission policies read back from IAM."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from deploy_support import REPO, Aws

from generators.ci import build_ci
from generators.config import load_config
from generators.synth import to_json

PREFIX = "layered-dev"
FORBIDDEN_TO_PLAN = {"cloudformation:ExecuteChangeSet", "ssm:PutParameter", "ecr:PutImage", "iam:PassRole",
                     "kms:Decrypt", "secretsmanager:GetSecretValue"}


def _document(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, str):
        return dict(raw)
    text = unquote(raw)
    # moto keeps an inline policy that CloudFormation created as the repr of a dict, not JSON.
    return json.loads(text) if text.lstrip().startswith('{"') else dict(ast.literal_eval(text))


def _role(aws: Aws, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    iam = aws.client("iam")
    role = iam.get_role(RoleName=name)["Role"]
    names = iam.list_role_policies(RoleName=name)["PolicyNames"]
    statements = [s for n in names
                  for s in _document(iam.get_role_policy(RoleName=name, PolicyName=n)["PolicyDocument"])["Statement"]]
    return _document(role["AssumeRolePolicyDocument"]), statements


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allowed(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements if s["Effect"] == "Allow" for a in _listed(s["Action"])}


# moto models no AWS::IAM::OIDCProvider (a placeholder: the roles' Federated principal is its Ref);
# the template test below checks the provider itself.
@pytest.mark.moto_required("AWS::IAM::Role", "AWS::SSM::Parameter")
def test_ci_stack_roles_trust_only_the_repository_environment(aws: Aws) -> None:
    done = aws.deploy("--stack", "ci", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    arns = {p["Name"]: p["Value"] for p in aws.client("ssm").get_parameters(
        Names=[f"/{PREFIX}/ci/plan-role-arn", f"/{PREFIX}/ci/deploy-role-arn"])["Parameters"]}
    assert arns[f"/{PREFIX}/ci/plan-role-arn"].endswith(f":role/{PREFIX}-ci-plan")
    for arn in arns.values():
        assert arn in done.stdout  # printed next to the variable and environment it belongs in
    assert f"environment dev-plan  AWS_PLAN_ROLE_ARN   = {arns[f'/{PREFIX}/ci/plan-role-arn']}" in done.stdout
    for kind, github_env in (("plan", "dev-plan"), ("deploy", "dev")):
        trust, _ = _role(aws, f"{PREFIX}-ci-{kind}")
        [statement] = trust["Statement"]
        assert _listed(statement["Action"]) == ["sts:AssumeRoleWithWebIdentity"]
        assert set(statement["Principal"]) == {"Federated"}
        assert statement["Condition"]["StringEquals"] == {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": f"repo:example-org/layered-platform:environment:{github_env}",
        }


def test_plan_role_can_plan_but_never_change(aws: Aws) -> None:
    assert aws.deploy("--stack", "ci", "--yes").returncode == 0
    _, statements = _role(aws, f"{PREFIX}-ci-plan")
    allowed = _allowed(statements)
    assert {"cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet", "cloudformation:DeleteChangeSet",
            "ssm:GetParameters", "ecr:DescribeImages", "s3:PutObject"} <= allowed
    assert not allowed & FORBIDDEN_TO_PLAN and not [a for a in allowed if a.endswith(":*")]
    denied = {a for s in statements if s["Effect"] == "Deny" for a in _listed(s["Action"])}
    assert denied >= FORBIDDEN_TO_PLAN  # explicit: a broader policy attached later cannot grant them
    [put] = [s for s in statements if "s3:PutObject" in _listed(s.get("Action"))]
    [resource] = _listed(put["Resource"])
    assert resource.endswith("-an/plan/*") and f":s3:::{PREFIX}-cfn-123456789012-us-east-1-an" in resource
    [params] = [s for s in statements if "ssm:GetParameters" in _listed(s["Action"])]
    assert _listed(params["Resource"]) == [f"arn:aws:ssm:*:123456789012:parameter/{PREFIX}/*"]


def test_deploy_role_is_scoped_to_the_prefix(aws: Aws) -> None:
    assert aws.deploy("--stack", "ci", "--yes").returncode == 0
    _, statements = _role(aws, f"{PREFIX}-ci-deploy")
    for s in statements:
        for resource in _listed(s["Resource"]):
            if resource == "*" and s["Effect"] == "Allow":
                # Only listing, docker login and the CloudFormation-only wildcard take "*".
                via = s.get("Condition", {}).get("ForAnyValue:StringEquals", {}).get("aws:CalledVia")
                assert via == "cloudformation.amazonaws.com" or set(_listed(s["Action"])) <= {
                    "cloudformation:DescribeStacks", "ecr:GetAuthorizationToken", "s3:ListAllMyBuckets"}, s
            elif resource != "*" and not resource.endswith(("aws-service-role/*", ":distribution/*")):
                assert f"{PREFIX}-" in resource or f"/{PREFIX}/" in resource, (s["Sid"], resource)
    [pass_role] = [s for s in statements if s["Effect"] == "Allow" and "iam:PassRole" in _listed(s["Action"])]
    assert _listed(pass_role["Resource"]) == [f"arn:aws:iam::123456789012:role/{PREFIX}-*"]
    assert "ecs-tasks.amazonaws.com" in pass_role["Condition"]["StringEquals"]["iam:PassedToService"]
    denials = {s["Sid"]: s for s in statements if s["Effect"] == "Deny"}
    assert _listed(denials["NotTheCiStack"]["Resource"]) == [
        f"arn:aws:cloudformation:*:123456789012:stack/{PREFIX}-ci/*"]
    assert "cloudformation:ExecuteChangeSet" in _listed(denials["NotTheCiStack"]["Action"])
    assert _listed(denials["NotPlanUploads"]["Resource"])[0].endswith("-an/plan/*")
    assert _listed(denials["NoSecretValues"]["Action"]) == ["secretsmanager:GetSecretValue"]
    assert denials["NoSecureStrings"]["Condition"] == {"StringLike": {"kms:ViaService": "ssm.*.amazonaws.com"}}


def test_stack_all_never_includes_ci(aws: Aws) -> None:
    done = aws.deploy("--stack", "all", "--plan")
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"{PREFIX}-ci" not in aws.stacks() and "ci" not in done.stdout.split("batch 1:")[1].split("\n")[0]


def _config(tmp_path: Path, old: str, new: str, prefix: str) -> Path:
    text = (REPO / "platform.toml").read_text(encoding="utf-8")
    assert old in text
    # A prefix of its own: generated templates for another configuration go to build/templates/<env>/<prefix>.
    path = tmp_path / "platform.toml"
    path.write_text(text.replace(old, new, 1).replace('"layered-dev"', f'"{prefix}"'), encoding="utf-8")
    return path


@pytest.mark.parametrize("repository", ["layered-platform", "owner/", "-owner/name", "owner/name/extra", "own er/x"])
def test_a_repository_not_owner_name_is_refused(aws: Aws, tmp_path: Path, repository: str) -> None:
    config = _config(tmp_path, 'repository = "example-org/layered-platform"', f'repository = "{repository}"',
                     "citest-repo")
    done = aws.deploy("--config", str(config), "--stack", "ci", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == (f"error: platform.toml: ci.repository: {repository!r} is not accepted "
                                   '(expected the GitHub repository as "owner/name")')
    assert aws.stacks() == {}


def test_ci_for_an_environment_of_another_account_is_refused(aws: Aws, tmp_path: Path) -> None:
    config = _config(tmp_path, '# account_id = "123456789012"', 'account_id = "111122223333"', "citest-acct")
    done = aws.deploy("--config", str(config), "--stack", "ci", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "credentials are for account 123456789012, but environment dev is account 111122223333" in line
    assert aws.stacks() == {} and not aws.client("iam").list_roles()["Roles"]


def test_one_provider_per_account_and_reuse_by_arn(tmp_path: Path) -> None:
    """The first environment of an account creates the provider; another in the same account, or any
    environment once oidc_provider_arn is set, refers to it without creating one."""
    shared = _config(tmp_path, 'account_id = "123456789012"\nvpc_cidr = "10.30.0.0/16"',
                     'vpc_cidr = "10.30.0.0/16"', "citest-one")
    dev, prod = (json.loads(to_json(build_ci(load_config(shared, env))))["Resources"] for env in ("dev", "prod"))
    assert "GitHubOidcProvider" in dev and "GitHubOidcProvider" not in prod
    provider = dev["GitHubOidcProvider"]["Properties"]
    assert (provider["Url"], provider["ClientIdList"]) == ("https://token.actions.githubusercontent.com",
                                                           ["sts.amazonaws.com"])
    trust = dev["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Federated": {"Ref": "GitHubOidcProvider"}}
    federated = prod["PlanRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Federated"]
    assert federated == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/"
                                    "token.actions.githubusercontent.com"}
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    reuse = _config(tmp_path, "# oidc_provider_arn = ", "oidc_provider_arn = ", "citest-two")
    resources = json.loads(to_json(build_ci(load_config(reuse, "dev"))))["Resources"]
    assert "GitHubOidcProvider" not in resources
    assert resources["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Federated": arn}
