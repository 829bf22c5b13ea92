"""--plan and --execute pair up by change-set name, so a plan made in between (a pull request's)
is never the one executed. Against the emulator, through the command line."""

from __future__ import annotations

import json
from typing import Any

from deploy_support import Aws
from moto_state_support import stack_deployed

PREFIX = "layered-dev"
STACK = f"{PREFIX}-registry"


def drift_registry(aws: Aws) -> None:
    """Deploy the registry, then take one parameter out of it, so every plan after has one change."""
    stack_deployed(aws, "registry")
    cf = aws.client("cloudformation")
    body = cf.get_template(StackName=STACK)["TemplateBody"]
    body = json.loads(body) if isinstance(body, str) else body
    del body["Resources"]["InferenceApiRepositoryUriParameter"]
    body.pop("Outputs", None)
    cf.update_stack(StackName=STACK, TemplateBody=json.dumps(body), Capabilities=["CAPABILITY_NAMED_IAM"])


def plan(aws: Aws, *args: str, run: str | None = None, attempt: str = "1") -> dict[str, Any]:
    env = {**aws.env, **({"GITHUB_RUN_ID": run, "GITHUB_RUN_ATTEMPT": attempt} if run else {})}
    done = aws.deploy("--stack", "registry", "--plan", "--output", "json", *args, env=env)
    assert done.returncode == 3, done.stdout + done.stderr
    return dict(json.loads(done.stdout)["stacks"][0])


def execute(aws: Aws, *args: str, run: str | None = None, attempt: str = "1") -> Any:
    env = {**aws.env, **({"GITHUB_RUN_ID": run, "GITHUB_RUN_ATTEMPT": attempt} if run else {})}
    return aws.deploy("--stack", "registry", "--execute", "--yes", "--output", "json", *args, env=env)


def test_a_runs_execute_takes_its_own_plan_not_a_newer_pull_request_plan(aws: Aws) -> None:
    drift_registry(aws)
    main = plan(aws, run="100")
    pull_request = plan(aws, run="200")
    assert main["change_set_id"] != pull_request["change_set_id"]
    assert "changeSet/deploy-py-run-100-1/" in main["change_set_id"]
    done = execute(aws, run="100", attempt="2")  # "re-run failed jobs": only the execute job runs again
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["stacks"][0]["change_set_id"] == main["change_set_id"]


def test_change_set_name_pairs_plan_and_execute(aws: Aws) -> None:
    drift_registry(aws)
    first = plan(aws, "--change-set-name", "review-42")
    replanned = plan(aws, "--change-set-name", "review-42")  # the same name again replaces the first
    newer = plan(aws)  # a default-named plan made later is not taken
    cf = aws.client("cloudformation")
    named = [c for c in cf.list_change_sets(StackName=STACK)["Summaries"]
             if c["StackName"] == STACK and c["ChangeSetName"] == "review-42"]
    assert [c["ChangeSetId"] for c in named] == [replanned["change_set_id"]] != [first["change_set_id"]]
    assert newer["change_set_id"] != replanned["change_set_id"]
    done = execute(aws, "--change-set-name", "review-42")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["stacks"][0]["change_set_id"] == replanned["change_set_id"]
    missing = execute(aws, "--change-set-name", "review-43")
    assert missing.returncode == 2 and "named review-43" in missing.stderr


def test_execute_without_a_name_keeps_taking_the_newest(aws: Aws) -> None:
    drift_registry(aws)
    plan(aws, "--change-set-name", "review-42")
    newest = plan(aws)
    done = execute(aws)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["stacks"][0]["change_set_id"] == newest["change_set_id"]


def test_an_invalid_name_is_one_line_and_exit_2_with_nothing_created(aws: Aws) -> None:
    done = aws.deploy("--stack", "registry", "--plan", "--change-set-name", "review_42")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "'review_42' is not a valid change set name" in lines[0]
    bad_run = aws.deploy("--stack", "registry", "--plan", env={**aws.env, "GITHUB_RUN_ID": "12_3"})
    assert bad_run.returncode == 2 and "pass --change-set-name" in bad_run.stderr
    assert aws.stacks() == {}
