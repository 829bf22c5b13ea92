"""deploy.py against moto's server, through its command line, as a user runs it (issue 3's list)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from deploy_support import REPO, Aws, clean_env, set_status
from moto_state_support import stack_deployed
from zygote_support import run_deploy

from generators.naming import NETWORK_KEYS

PREFIX = "layered-dev"
ALL = ["infrastructure", "registry", "app-api", "inference-api", "frontend", "auth", "alerts"]
SERVICE_TYPES = ("AWS::ECS::Service", "AWS::ECS::TaskDefinition", "AWS::ElasticLoadBalancingV2::ListenerRule",
                 "AWS::ElasticLoadBalancingV2::TargetGroup", "AWS::SSM::Parameter", "AWS::ECR::Repository")


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.moto_required(*SERVICE_TYPES)
def test_all_from_empty_creates_every_stack_in_order(aws: Aws) -> None:
    done = aws.deploy("--stack", "all", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    stacks = aws.stacks()
    assert sorted(stacks) == sorted(f"{PREFIX}-{s}" for s in ALL)
    created = {name.removeprefix(f"{PREFIX}-"): s["CreationTime"] for name, s in stacks.items()}
    for service in ("app-api", "inference-api", "frontend"):
        assert created["infrastructure"] < created[service] and created["registry"] < created[service]
    for s in stacks.values():
        assert s["StackStatus"] == "CREATE_COMPLETE"
        tags = {t["Key"]: t["Value"] for t in s["Tags"]}
        assert tags["project"] == "layered-platform" and tags["environment"] == "dev" and tags["stack"]
    assert stacks[f"{PREFIX}-infrastructure"]["EnableTerminationProtection"] is True
    ssm = aws.client("ssm")
    pages = ssm.get_paginator("get_parameters_by_path").paginate(Path=f"/{PREFIX}", Recursive=True)
    names = {p["Name"] for page in pages for p in page["Parameters"]}
    assert {f"/{PREFIX}/network/{k}" for k in NETWORK_KEYS} <= names
    ecs, elb = aws.client("ecs"), aws.client("elbv2")
    cluster = ecs.list_clusters()["clusterArns"][0]
    assert len(ecs.list_services(cluster=cluster)["serviceArns"]) == 2
    listener = ssm.get_parameter(Name=f"/{PREFIX}/network/alb-listener-arn")["Parameter"]["Value"]
    rules = {r["Priority"]: r["Conditions"][0]["PathPatternConfig"]["Values"]
             for r in elb.describe_rules(ListenerArn=listener)["Rules"] if r["Priority"] != "default"}
    assert rules == {"1": ["/api/*", "/health"], "10": ["/inference/*"]}
    assert "batch 1: alerts, infrastructure, registry" in done.stdout
    assert created["frontend"] < created["auth"] < created["app-api"]
    # the emulator serves nothing: no URL is offered as if it could be tried, no console link either
    assert "no URLs to try: the emulator serves no traffic" in done.stdout and "http" not in done.stdout


def test_second_run_reports_no_changes_and_leaves_no_change_sets(aws: Aws) -> None:
    stack_deployed(aws, "all")
    again = aws.deploy("--stack", "all", "--yes", "--output", "json")
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert {s["stack"]: s["status"] for s in doc["stacks"]} == dict.fromkeys(ALL, "no changes")
    leftovers = [c for c in aws.client("cloudformation").list_change_sets(StackName=f"{PREFIX}-registry")["Summaries"]
                 if c["ExecutionStatus"] != "EXECUTE_COMPLETE"]
    assert leftovers == []


def test_plan_then_execute_runs_the_same_change_set(aws: Aws) -> None:
    planned = aws.deploy("--stack", "registry", "--plan", "--output", "json")
    assert planned.returncode == 3, planned.stderr
    plan_doc = json.loads(planned.stdout)
    cs_id = plan_doc["stacks"][0]["change_set_id"]
    assert plan_doc["stacks"][0]["status"] == "planned" and "console.aws.amazon.com" not in planned.stderr
    assert f"aws cloudformation describe-change-set --change-set-name {cs_id}" in planned.stderr
    assert aws.client("cloudformation").describe_change_set(ChangeSetName=cs_id)["ExecutionStatus"] == "AVAILABLE"
    executed = aws.deploy("--stack", "registry", "--execute", "--yes", "--output", "json")
    assert executed.returncode == 0, executed.stderr
    doc = json.loads(executed.stdout)
    assert doc["stacks"][0]["change_set_id"] == cs_id and doc["stacks"][0]["status"] == "created"
    assert doc["stacks"][0]["console_url"] == plan_doc["stacks"][0]["console_url"]
    again = aws.deploy("--stack", "registry", "--execute", "--yes")
    assert again.returncode == 2 and "no longer executable" in again.stderr


def test_json_carries_the_printed_console_url_and_the_job_summary_links_it(aws: Aws) -> None:
    planned = aws.deploy("--stack", "registry", "--plan", "--output", "json")
    assert planned.returncode == 3, planned.stderr
    doc = json.loads(planned.stdout)
    stack = doc["stacks"][0]
    # an emulator has no console: the review line and the JSON carry the command that shows the change set
    assert stack["console_url"].startswith(f"aws cloudformation describe-change-set --change-set-name "
                                           f"{stack['change_set_id']} --endpoint-url {aws.url}")
    assert f"review: {stack['console_url']}" in planned.stderr
    from deployer.presentation.report import Reporter

    url = Reporter("us-east-1").console_url({"StackId": "x", "ChangeSetId": stack["change_set_id"]})
    assert url.startswith("https://us-east-1.console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/")
    assert quote(stack["change_set_id"], safe="") in url
    stack["console_url"] = url  # what the same run prints against AWS
    spec = importlib.util.spec_from_file_location("plan_summary", REPO / ".github" / "scripts" / "plan_summary.py")
    assert spec and spec.loader
    plan_summary = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plan_summary)
    assert f"[review in the CloudFormation console]({url})" in plan_summary.render(json.dumps(doc), 3)


def test_execute_refuses_a_plan_made_from_another_template(aws: Aws) -> None:
    stack_deployed(aws, "registry")
    cf = aws.client("cloudformation")
    body = cf.get_template(StackName=f"{PREFIX}-registry")["TemplateBody"]
    body = json.loads(body) if isinstance(body, str) else body
    body["Description"] = "changed"
    cf.create_change_set(StackName=f"{PREFIX}-registry", ChangeSetName="deploy-py-99990101-000000",
                         ChangeSetType="UPDATE", TemplateBody=json.dumps(body),
                         Description="deploy.py registry sha256=0000")
    refused = aws.deploy("--stack", "registry", "--execute", "--yes")
    assert refused.returncode == 2
    assert "template other than registry.json" in one_error_line(refused.stderr)


def test_service_on_empty_account_fails_preflight_naming_parameters(aws: Aws) -> None:
    done = aws.deploy("--stack", "app-api", "--yes")
    assert done.returncode == 2
    assert f"/{PREFIX}/network/vpc-id" in done.stderr and "deploy infrastructure first" in done.stderr
    assert f"/{PREFIX}/app-api/repository-uri" in done.stderr and "deploy registry first" in done.stderr
    assert "Traceback" not in done.stderr
    assert aws.stacks() == {}


@pytest.mark.parametrize("args, expected", [
    (["--stack", "nope", "--yes"], "unknown stack nope"),
    (["--stack", "all", "--env", "staging", "--yes"], "no such environment"),
    (["--stack", "all", "--plan", "--execute"], "not allowed with argument"),
    (["--stack", "registry"], "pass --yes"),
    (["--set-image-tag", "app-api"], "expects SERVICE=TAG"),
    (["--status", "--wait"], "--wait only goes with a deploy, --plan or --execute"),
    (["--destroy", "--stack", "registry", "--change-set-name", "x"], "--change-set-name only goes with a deploy"),
])
def test_bad_input_is_one_line_and_exit_2(aws: Aws, args: list[str], expected: str) -> None:
    done = aws.deploy(*args)
    assert done.returncode == 2
    assert expected in one_error_line(done.stderr)
    assert aws.stacks() == {}


def test_wrong_account_is_refused(aws: Aws, tmp_path: Path) -> None:
    config = tmp_path / "platform.toml"
    text = (REPO / "platform.toml").read_text().replace('# account_id = "123456789012"', 'account_id = "999999999999"')
    config.write_text(text)
    done = aws.deploy("--config", str(config), "--prefix", "wrong-acct", "--stack", "all", "--yes")
    assert done.returncode == 2
    assert "account 123456789012" in one_error_line(done.stderr) and "999999999999" in done.stderr
    assert aws.stacks() == {}


def test_missing_credentials_are_refused(aws: Aws) -> None:
    env = clean_env(aws.url)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    done = aws.deploy("--stack", "all", "--yes", env=env)
    assert done.returncode == 2
    assert "no AWS credentials found" in one_error_line(done.stderr)
    assert aws.stacks() == {}


def test_rollback_complete_is_deleted_and_recreated(aws: Aws) -> None:
    stack_deployed(aws, "registry")
    old_id = aws.stacks()[f"{PREFIX}-registry"]["StackId"]
    aws.client("cloudformation").update_termination_protection(StackName=f"{PREFIX}-registry",
                                                               EnableTerminationProtection=False)
    ecr = aws.client("ecr")  # a failed first create leaves no images behind
    for repo in ("app-api", "inference-api"):
        ecr.batch_delete_image(repositoryName=f"{PREFIX}/{repo}", imageIds=[{"imageTag": "local-placeholder"}])
    set_status(f"{PREFIX}-registry", "ROLLBACK_COMPLETE")
    done = aws.deploy("--stack", "registry", "--yes")
    assert done.returncode == 0, done.stderr
    assert "ROLLBACK_COMPLETE from a failed first create: deleting it and creating it again" in done.stdout
    stack = aws.stacks()[f"{PREFIX}-registry"]
    assert stack["StackStatus"] == "CREATE_COMPLETE" and stack["StackId"] != old_id


@pytest.mark.parametrize("status, expected", [
    ("UPDATE_ROLLBACK_FAILED", f"aws cloudformation continue-update-rollback --stack-name {PREFIX}-registry"),
    ("UPDATE_IN_PROGRESS", "another deployment is running"),
])
def test_stuck_or_busy_stacks_are_refused(aws: Aws, status: str, expected: str) -> None:
    stack_deployed(aws, "registry")
    set_status(f"{PREFIX}-registry", status)
    done = aws.deploy("--stack", "registry", "--yes")
    assert done.returncode == 2 and expected in done.stderr
    assert aws.stacks()[f"{PREFIX}-registry"]["StackStatus"] == status


def test_destroy_reverse_order_refusing_foundation_while_services_remain(aws: Aws) -> None:
    stack_deployed(aws, "all")
    refused = aws.deploy("--destroy", "--stack", "infrastructure", "--yes")
    assert refused.returncode == 2
    assert "app-api" in refused.stderr and "still read" in refused.stderr
    protected = aws.deploy("--destroy", "--stack", "all", "--yes")
    assert protected.returncode == 2
    assert "update-termination-protection --no-enable-termination-protection" in one_error_line(protected.stderr)
    assert len(aws.stacks()) == len(ALL)
    cf = aws.client("cloudformation")
    for stack in ("infrastructure", "registry"):
        cf.update_termination_protection(StackName=f"{PREFIX}-{stack}", EnableTerminationProtection=False)
    refused = aws.deploy("--destroy", "--stack", "all", "--yes")  # the repositories still hold images
    assert refused.returncode == 2 and "still hold images" in one_error_line(refused.stderr)
    assert len(aws.stacks()) == len(ALL)  # refused before anything was deleted, not half-way through
    ecr = aws.client("ecr")
    for repo in ("app-api", "inference-api"):
        ecr.batch_delete_image(repositoryName=f"{PREFIX}/{repo}", imageIds=[{"imageTag": "local-placeholder"}])
    done = aws.deploy("--destroy", "--stack", "all", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert aws.stacks() == {}
    order = [ln.split()[2] for ln in done.stdout.splitlines() if ln.endswith(" deleting")]
    assert set(order[:2]) == {"app-api", "inference-api"} and order[2:4] == ["auth", "frontend"]
    assert set(order[4:]) == {"infrastructure", "registry", "alerts"}


def test_status_and_graph(aws: Aws) -> None:
    stack_deployed(aws, "all")
    status = aws.deploy("--status", "--output", "json")
    assert status.returncode == 0, status.stderr
    docs = {d["stack"]: d for d in json.loads(status.stdout)["stacks"]}
    assert docs["app-api"]["deployed_tag"] == docs["app-api"]["ssm_tag"] == "local-placeholder" or \
        docs["app-api"]["status"] == "CREATE_COMPLETE"
    graph = aws.deploy("--graph")
    assert graph.returncode == 0 and graph.stdout.startswith("flowchart LR")
    assert "infrastructure -- " in graph.stdout and "--> app_api" in graph.stdout


def test_local_demo_needs_no_credentials_at_all() -> None:
    env = clean_env(None)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    done = run_deploy(["--local", "--stack", "all", "--yes"], env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "LOCAL EMULATOR" in done.stdout and "not emulated:" in done.stdout
    assert "placeholder image" in done.stdout and "no URLs to try" in done.stdout
