"""The `ci` stack as generated: the [ci] table's checks, the OIDC provider or its reuse, `all` without ci."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deployer.planning.planner import select_stacks
from generators.ci import build_ci
from generators.config import ConfigError, load_config
from generators.synth import render, to_json

REPO = Path(__file__).resolve().parent.parent
BASE = (REPO / "platform.toml").read_text(encoding="utf-8")
CI = '[ci]\nrepository = "example-org/layered-platform"\n'
PROVIDER = "arn:aws:iam::{}:oidc-provider/token.actions.githubusercontent.com"


def config(tmp_path: Path, ci_table: str, env: str = "dev") -> object:
    assert CI in BASE
    path = tmp_path / "platform.toml"
    path.write_text(BASE.replace(CI, ci_table), encoding="utf-8")
    return load_config(path, env)


def test_committed_templates_create_the_provider_and_pin_repository_and_environment() -> None:
    for env in ("dev", "prod"):
        doc = json.loads((REPO / "templates" / env / "ci.json").read_text(encoding="utf-8"))
        provider = doc["Resources"]["GitHubOidcProvider"]["Properties"]
        assert provider == {"Url": "https://token.actions.githubusercontent.com", "ClientIdList": ["sts.amazonaws.com"]}
        for role, github_env in (("PlanRole", f"{env}-plan"), ("DeployRole", env)):
            trust = doc["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            assert [s["Principal"] for s in trust] == [{"Federated": {"Ref": "GitHubOidcProvider"}}]
            assert trust[0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == \
                f"repo:example-org/layered-platform:environment:{github_env}"


def test_an_existing_provider_is_reused_per_environment(tmp_path: Path) -> None:
    table = CI + f'[ci.environments.prod]\noidc_provider_arn = "{PROVIDER.format("123456789012")}"\n'
    prod = build_ci(config(tmp_path, table, "prod")).to_dict()  # type: ignore[arg-type]
    assert "GitHubOidcProvider" not in prod["Resources"]
    principal = prod["Resources"]["PlanRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Federated": PROVIDER.format("123456789012")}
    dev = build_ci(config(tmp_path, table, "dev")).to_dict()  # type: ignore[arg-type]
    assert "GitHubOidcProvider" in dev["Resources"]


@pytest.mark.parametrize(("table", "message"), [
    ('[ci]\nrepository = "no-slash"\n', "ci.repository: 'no-slash' is not accepted (expected \"owner/name\""),
    ('[ci]\nrepository = "a/b"\nroles = 2\n', "ci.roles: unknown key"),
    (CI + '[ci.environments.staging]\noidc_provider_arn = "x"\n', "ci.environments.staging: no such environment"),
    (CI + f'oidc_provider_arn = "{PROVIDER.format("111111111111")}"\n',
     "ci.oidc_provider_arn: the provider is in account 111111111111, but environment prod is account 123456789012"),
])
def test_bad_ci_tables_are_one_line_errors(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config(tmp_path, table)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_without_a_ci_table_there_is_no_ci_stack(tmp_path: Path) -> None:
    assert "ci" not in render(config(tmp_path, ""))  # type: ignore[arg-type]


def test_all_leaves_ci_out_unless_named() -> None:
    known = ["infrastructure", "registry", "alerts", "ci"]
    assert select_stacks(["all"], known) == (["infrastructure", "registry", "alerts"], [])
    assert select_stacks(["all", "ci"], known) == (known, [])
    assert select_stacks(["ci"], known) == (["ci"], [])


def test_generated_ci_template_is_the_committed_one(tmp_path: Path) -> None:
    assert to_json(build_ci(load_config(REPO / "platform.toml", "dev"))) == \
        (REPO / "templates" / "dev" / "ci.json").read_text(encoding="utf-8")


# CloudFormation type namespace -> IAM service prefix, for every namespace the stacks may use.
IAM_PREFIX = {"ApplicationAutoScaling": "application-autoscaling", "AutoScaling": "autoscaling",
              "CertificateManager": "acm", "Cognito": "cognito-idp", "ElasticLoadBalancingV2": "elasticloadbalancing",
              "Logs": "logs", "WAFv2": "wafv2", "NovaAct": "nova-act"}


def test_the_cloudformation_role_covers_every_namespace_the_stacks_create() -> None:
    """CloudFormation creates resources with its service role's permissions: a new resource namespace in
    any template must be granted (prefix-scoped or broad) before a pipeline can deploy it."""
    doc = json.loads((REPO / "templates" / "dev" / "ci.json").read_text(encoding="utf-8"))
    statements = doc["Resources"]["CloudFormationRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    granted = {a.split(":")[0] for st in statements if st["Effect"] == "Allow" for a in st["Action"]}
    used = {t.split("::")[1] for path in (REPO / "templates").glob("*/*.json")
            for r in json.loads(path.read_text(encoding="utf-8"))["Resources"].values()
            for t in [r["Type"]] if t.startswith("AWS::")}
    missing = {n for n in used if IAM_PREFIX.get(n, n.lower()) not in granted}
    assert not missing, f"the ci CloudFormation role grants nothing in {sorted(missing)}: add them to " \
        "generators/ci_policies.py"


def test_configured_secrets_are_checked_never_read_by_the_ci_roles(tmp_path: Path) -> None:
    """With `secrets` and a `secrets_kms_key`, the CI roles may check that the secrets exist (pre-flight)
    but get no kms:Decrypt and no secret value: only the task's execution role reads them, with that key."""
    from test_config_ops import KEY_ARN, SECRET_ARN, SECRETS

    path = tmp_path / "platform.toml"
    path.write_text(SECRETS, encoding="utf-8")
    doc = json.loads(to_json(build_ci(load_config(path, "dev"))))
    for role in ("PlanRole", "DeployRole"):
        statements = doc["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        allowed = {a for st in statements if st["Effect"] == "Allow" for a in st["Action"]}
        assert "kms:Decrypt" not in allowed and "secretsmanager:GetSecretValue" not in allowed
        assert KEY_ARN not in json.dumps(statements)
        [exists] = [st for st in statements if st["Sid"] == "SecretsExist"]
        assert exists["Action"] == ["secretsmanager:DescribeSecret"] and SECRET_ARN in exists["Resource"]
        reads = [st for st in statements if st["Effect"] == "Allow" and "ssm:GetParameters" in st["Action"]]
        assert ":parameter/layered/db-password" in json.dumps(reads)
        denied = {a for st in statements if st["Effect"] == "Deny" for a in st["Action"]}
        assert {"kms:Decrypt", "secretsmanager:GetSecretValue"} <= denied


def test_change_sets_name_the_role_except_in_plans_and_for_the_ci_stack(tmp_path: Path) -> None:
    from deployer.commands.actions import Context, acting_role
    from deployer.planning.planner import StackPlan, change_set_args

    sp = StackPlan("alerts", "p-alerts", tmp_path / "alerts.json", "{}", {})
    assert change_set_args(sp, "n", "UPDATE", {}, None, "arn:aws:iam::1:role/r")["RoleARN"] == "arn:aws:iam::1:role/r"
    assert "RoleARN" not in change_set_args(sp, "n", "UPDATE", {}, None)
    ctx = Context(None, None, {}, role_arn="arn:aws:iam::1:role/r")  # type: ignore[arg-type]
    assert acting_role(ctx, "alerts") == "arn:aws:iam::1:role/r" and acting_role(ctx, "ci") is None
    ctx.keep_change_sets = True
    assert acting_role(ctx, "alerts") is None
