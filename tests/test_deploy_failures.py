"""A failed create or update exits 1 with the failed resources and their reasons first.

moto alone cannot produce a failed stack: its ExecuteChangeSet fails the API call itself and leaves
the stack REVIEW_IN_PROGRESS. deployer/emulator/layer.py makes it end as AWS does (CREATE_FAILED event,
rollback, ROLLBACK_COMPLETE / UPDATE_ROLLBACK_COMPLETE), so these tests fail real stack operations:
a repository or parameter that already exists outside the stack, as happens on AWS too.
"""

from __future__ import annotations

import io
import json
from typing import Any

from deploy_support import REPO, Aws

from deployer.presentation.report import Reporter, failed_resources

PREFIX = "layered-dev"
REGISTRY = f"{PREFIX}-registry"
SUMMARY_HEADER = "stack     action  status  seconds"

# Recorded from CloudFormation (trimmed), oldest first as deploy.py collects them: one resource
# fails, CloudFormation cancels the one still in flight, then rolls the new stack back.
AWS_EVENTS: list[dict[str, Any]] = [
    {"StackName": "layered-dev-app-api", "LogicalResourceId": "layered-dev-app-api",
     "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatus": "CREATE_IN_PROGRESS",
     "ResourceStatusReason": "User Initiated"},
    {"StackName": "layered-dev-app-api", "LogicalResourceId": "TaskDefinition",
     "ResourceType": "AWS::ECS::TaskDefinition",
     "ResourceStatus": "CREATE_IN_PROGRESS"},
    {"StackName": "layered-dev-app-api", "LogicalResourceId": "ListenerRule",
     "ResourceType": "AWS::ElasticLoadBalancingV2::ListenerRule", "ResourceStatus": "CREATE_FAILED",
     "ResourceStatusReason": "Resource handler returned message: \"Priority '1' is currently in use\""},
    {"StackName": "layered-dev-app-api", "LogicalResourceId": "TaskDefinition",
     "ResourceType": "AWS::ECS::TaskDefinition",
     "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "Resource creation cancelled"},
    {"StackName": "layered-dev-app-api", "LogicalResourceId": "layered-dev-app-api",
     "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatus": "ROLLBACK_IN_PROGRESS",
     "ResourceStatusReason": "The following resource(s) failed to create: [TaskDefinition, ListenerRule]."},
    {"StackName": "layered-dev-app-api", "LogicalResourceId": "layered-dev-app-api",
     "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatus": "ROLLBACK_FAILED",
     "ResourceStatusReason": "stack-level status: shown in the header, not as a resource"},
]


def test_failed_resources_put_the_cause_before_the_cancelled() -> None:
    failed = failed_resources(AWS_EVENTS)
    assert [e["LogicalResourceId"] for e in failed] == ["ListenerRule", "TaskDefinition"]


def test_failure_block_leads_with_the_stack_status_and_the_cause() -> None:
    out = io.StringIO()
    final = {"StackStatus": "ROLLBACK_COMPLETE",
             "StackStatusReason": "The following resource(s) failed to create: [TaskDefinition, ListenerRule]."}
    Reporter("us-east-1", stream=out).failure("app-api", final, failed_resources(AWS_EVENTS))
    lines = out.getvalue().splitlines()
    assert lines[0] == f"app-api failed: ROLLBACK_COMPLETE — {final['StackStatusReason']}"
    assert lines[1] == ("  ListenerRule (AWS::ElasticLoadBalancingV2::ListenerRule): CREATE_FAILED — "
                        "Resource handler returned message: \"Priority '1' is currently in use\"")
    assert lines[2] == "  TaskDefinition (AWS::ECS::TaskDefinition): CREATE_FAILED — Resource creation cancelled"
    assert len(lines) == 3


def failure_line(text: str, logical: str) -> int:
    lines = text.splitlines()
    return next(i for i, ln in enumerate(lines) if ln.lstrip().startswith(f"{logical} ("))


def test_a_failed_create_exits_1_naming_the_resource_and_a_rerun_converges(aws: Aws) -> None:
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName=f"{PREFIX}/app-api")  # made by hand, outside any stack
    failed = aws.deploy("--stack", "registry", "--yes")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    out = failed.stdout
    assert "registry failed: ROLLBACK_COMPLETE — The following resource(s) failed to create: [AppApiRepository]" in out
    cause = out.splitlines()[failure_line(out, "AppApiRepository")]
    assert "AppApiRepository (AWS::ECR::Repository): CREATE_FAILED — The repository with name " \
           f"'{PREFIX}/app-api' already exists" in cause
    assert failure_line(out, "AppApiRepository") < out.splitlines().index(SUMMARY_HEADER)
    assert "Traceback" not in failed.stderr and "AWS call failed" not in failed.stderr
    assert aws.stacks()[REGISTRY]["StackStatus"] == "ROLLBACK_COMPLETE"

    again = aws.deploy("--stack", "registry", "--yes", "--output", "json")  # still failing: recreated, fails
    assert again.returncode == 1
    stack = json.loads(again.stdout)["stacks"][0]
    assert stack["status"] == "failed" and stack["action"] == "recreate"
    assert stack["failed_resources"][0]["logical_id"] == "AppApiRepository"
    assert "already exists" in stack["failed_resources"][0]["reason"]

    ecr.delete_repository(repositoryName=f"{PREFIX}/app-api")
    fixed = aws.deploy("--stack", "registry", "--yes")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "deleting it and creating it again" in fixed.stdout
    assert aws.stacks()[REGISTRY]["StackStatus"] == "CREATE_COMPLETE"


def test_a_failed_update_exits_1_rolls_back_and_a_rerun_converges(aws: Aws) -> None:
    cf, ssm = aws.client("cloudformation"), aws.client("ssm")
    # The stack as an older template left it: without the parameter the current one adds.
    body = json.loads((REPO / "templates" / "dev" / "registry.json").read_text(encoding="utf-8"))
    del body["Resources"]["InferenceApiRepositoryUriParameter"]
    body.pop("Outputs", None)
    cf.create_stack(StackName=REGISTRY, TemplateBody=json.dumps(body))
    path = f"/{PREFIX}/inference-api/repository-uri"
    ssm.put_parameter(Name=path, Value="written by hand", Type="String")
    failed = aws.deploy("--stack", "registry", "--yes")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    out = failed.stdout
    assert "registry failed: UPDATE_ROLLBACK_COMPLETE" in out
    cause = out.splitlines()[failure_line(out, "InferenceApiRepositoryUriParameter")]
    assert "(AWS::SSM::Parameter): CREATE_FAILED — The parameter already exists" in cause
    assert failure_line(out, "InferenceApiRepositoryUriParameter") < out.splitlines().index(SUMMARY_HEADER)
    assert aws.stacks()[REGISTRY]["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"

    ssm.delete_parameter(Name=path)
    fixed = aws.deploy("--stack", "registry", "--yes", "--output", "json")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert json.loads(fixed.stdout)["stacks"][0]["status"] == "updated"
    assert ssm.get_parameter(Name=path)["Parameter"]["Value"].endswith(f"{PREFIX}/inference-api")
