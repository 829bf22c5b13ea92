"""An environment outside us-east-1 with WAF on: `edge` goes to us-east-1, the rest where configured,
and the web ACL's ARN reaches the frontend through the environment's own SSM (moto over HTTP).

moto models no AWS::WAFv2::WebACL in CloudFormation: the emulator layer stands in a placeholder, so
what is tested here is the deployer (regions, the copy, status, destroy), not WAF itself."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from deploy_support import REPO, Aws
from test_config_waf import with_dev_waf

# A prefix of its own: build/templates/dev/<prefix>/ is shared by every worker, and another worker's
# deploy of the committed configuration (no edge stack) prunes layered-dev's edge.json.
PREFIX = "layered-eu"
ACL_PATH = f"/{PREFIX}/edge/web-acl-arn"
HOME = "eu-west-1"


def client(aws: Aws, service: str, region: str) -> Any:
    return boto3.client(service, endpoint_url=aws.url, region_name=region,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def stacks_in(aws: Aws, region: str) -> dict[str, dict[str, Any]]:
    return {s["StackName"]: s for s in client(aws, "cloudformation", region).describe_stacks()["Stacks"]}


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout


@pytest.fixture
def eu_config(tmp_path: Path) -> Path:
    config = tmp_path / "platform.toml"
    config.write_text(with_dev_waf("enabled = true\nrate_limit = 500\n").replace(
        'region = "us-east-1"', f'region = "{HOME}"', 1).replace('prefix = "layered-dev"', f'prefix = "{PREFIX}"', 1))
    return config


@pytest.mark.moto_required("AWS::SSM::Parameter", "AWS::ECS::Service")
def test_edge_in_us_east_1_parameter_copied_home_frontend_deploys(aws: Aws, eu_config: Path) -> None:
    before = git_status()
    done = aws.deploy("--config", str(eu_config), "--stack", "all", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    east, home = stacks_in(aws, "us-east-1"), stacks_in(aws, HOME)
    assert sorted(east) == [f"{PREFIX}-edge"]
    assert sorted(home) == sorted(f"{PREFIX}-{s}" for s in
                                  ("infrastructure", "registry", "app-api", "inference-api", "frontend", "auth",
                                   "alerts"))
    assert all(s["StackStatus"] == "CREATE_COMPLETE" for s in [*east.values(), *home.values()])
    source = client(aws, "ssm", "us-east-1").get_parameter(Name=ACL_PATH)["Parameter"]["Value"]
    copy = client(aws, "ssm", HOME).get_parameter(Name=ACL_PATH)["Parameter"]["Value"]
    assert copy == source and source
    front = {p["ParameterKey"]: p.get("ResolvedValue", p["ParameterValue"])
             for p in home[f"{PREFIX}-frontend"]["Parameters"]}
    assert front["WebAclArn"] == source  # the frontend resolved the copy in its own region
    assert f"copied {ACL_PATH} from us-east-1 to {HOME}" in done.stdout
    # --config: templates went to the git-ignored build folder, the committed ones are untouched.
    assert git_status() == before
    assert (REPO / "build" / "templates" / "dev" / PREFIX / "edge.json").exists()


def test_status_rerun_and_destroy_use_each_stacks_region(aws: Aws, eu_config: Path) -> None:
    assert aws.deploy("--config", str(eu_config), "--stack", "all", "--yes").returncode == 0
    status = aws.deploy("--config", str(eu_config), "--status", "--output", "json")
    assert status.returncode == 0, status.stderr
    by_stack = {d["stack"]: d["status"] for d in json.loads(status.stdout)["stacks"]}
    assert by_stack["edge"] == by_stack["frontend"] == "CREATE_COMPLETE"
    rerun = aws.deploy("--config", str(eu_config), "--stack", "edge", "--stack", "frontend", "--yes")
    assert rerun.returncode == 0 and "edge" in rerun.stdout, rerun.stdout + rerun.stderr
    # The frontend still reads edge's parameter: edge alone may not go.
    refused = aws.deploy("--config", str(eu_config), "--destroy", "--stack", "edge", "--yes")
    assert refused.returncode == 2 and "frontend still reads edge" in refused.stderr, refused.stderr
    # The frontend's own readers (auth, which the services read) go with it.
    gone = aws.deploy("--config", str(eu_config), "--destroy", *[a for st in ("edge", "frontend", "auth", "app-api",
                      "inference-api") for a in ("--stack", st)], "--yes")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert stacks_in(aws, "us-east-1") == {}
    assert f"{PREFIX}-frontend" not in stacks_in(aws, HOME)
    names = [p["Name"] for p in client(aws, "ssm", HOME).describe_parameters()["Parameters"]]
    assert ACL_PATH not in names  # the copy went with its stack


def test_frontend_alone_names_the_missing_edge_parameter(aws: Aws, eu_config: Path) -> None:
    assert aws.deploy("--config", str(eu_config), "--stack", "infrastructure", "--yes").returncode == 0
    done = aws.deploy("--config", str(eu_config), "--stack", "frontend", "--yes")
    assert done.returncode == 2
    assert f"frontend reads {ACL_PATH}, which does not exist; stack edge writes it — deploy edge first" \
        in done.stderr
    assert f"{PREFIX}-frontend" not in stacks_in(aws, HOME)


def test_plan_then_execute_edge_in_its_own_region(aws: Aws, eu_config: Path) -> None:
    plan = aws.deploy("--config", str(eu_config), "--stack", "edge", "--plan")
    assert plan.returncode == 3, plan.stdout + plan.stderr
    east = client(aws, "cloudformation", "us-east-1")
    (summary,) = east.list_change_sets(StackName=f"{PREFIX}-edge")["Summaries"]
    assert summary["ExecutionStatus"] == "AVAILABLE" and stacks_in(aws, HOME) == {}
    done = aws.deploy("--config", str(eu_config), "--stack", "edge", "--execute", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert stacks_in(aws, "us-east-1")[f"{PREFIX}-edge"]["StackStatus"] == "CREATE_COMPLETE"
    assert client(aws, "ssm", HOME).get_parameter(Name=ACL_PATH)["Parameter"]["Value"]
