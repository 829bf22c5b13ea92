"""`--execute` on an endpoint that ignores GetTemplate's ChangeSetName (a stock `moto.server`, which
answers the stack's template): no planned change set can be verified there, so none is executed, and
the refusal says why and what to do in one line. The probe that tells such an endpoint apart asks for
a change set that does not exist, so nothing the plan role can write (descriptions, tags) sways it."""

from __future__ import annotations

import subprocess

from deploy_support import Aws, clean_env
from test_deploy_stock_moto import PREFIX, client, run, stock  # noqa: F401 (a fixture)
from zygote_support import run_deploy

from deployer.aws import runner


def deploy(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_deploy(list(args), env, timeout=300)


def test_execute_on_a_stock_endpoint_refuses_and_says_why(stock: str) -> None:  # noqa: F811
    env = {**clean_env(stock), "GITHUB_RUN_ID": "7001", "GITHUB_RUN_ATTEMPT": "1"}
    planned = deploy(env, "--plan", "--stack", "alerts")
    assert planned.returncode == 3, planned.stdout + planned.stderr
    done = deploy(env, "--execute", "--stack", "alerts", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0] == (f"error: change set deploy-py-run-7001-1 of {PREFIX}-alerts cannot be verified: this "
                        "endpoint answers GetTemplate with the stack's template, not the change set's (it does not "
                        "support GetTemplate by change set), so nothing was executed — plan and execute in one run: "
                        "python deploy.py --stack alerts with the same --env, without --plan or --execute")
    cf = client(stock, "cloudformation")
    [stack] = cf.describe_stacks(StackName=f"{PREFIX}-alerts")["Stacks"]  # type: ignore[attr-defined]
    assert stack["StackStatus"] == "REVIEW_IN_PROGRESS"  # not executed
    assert not runner.templates_by_change_set(cf, f"{PREFIX}-alerts")
    once = run(stock, "--stack", "alerts", "--yes")  # the way out the line names
    assert once.returncode == 0, once.stdout + once.stderr


def test_the_emulator_answers_by_change_set(aws: Aws) -> None:
    """The probe tells the patched emulator (like AWS) apart: it looks the change set up by name."""
    assert aws.deploy("--stack", "alerts", "--yes").returncode == 0
    assert runner.templates_by_change_set(aws.client("cloudformation"), f"{PREFIX}-alerts")
