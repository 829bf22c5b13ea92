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
              "Logs": "logs", "WAFv2": "wafv2"}


def test_the_deploy_role_covers_every_namespace_the_stacks_create() -> None:
    """CloudFormation creates resources with the deploy role's permissions: a new resource namespace in
    any template must be granted (prefix-scoped or broad) before a pipeline can deploy it."""
    doc = json.loads((REPO / "templates" / "dev" / "ci.json").read_text(encoding="utf-8"))
    statements = doc["Resources"]["DeployRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    granted = {a.split(":")[0] for st in statements if st["Effect"] == "Allow" for a in st["Action"]}
    used = {t.split("::")[1] for path in (REPO / "templates").glob("*/*.json")
            for r in json.loads(path.read_text(encoding="utf-8"))["Resources"].values()
            for t in [r["Type"]] if t.startswith("AWS::")}
    missing = {n for n in used if IAM_PREFIX.get(n, n.lower()) not in granted}
    assert not missing, f"the ci deploy role grants nothing in {sorted(missing)}: add them to generators/ci.py"
