"""Change-set names without a server: what --plan calls them, and which one --execute takes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from deployer.planning.planner import Naming, change_set_name_problem, naming, pick_planned

T0 = datetime(2026, 1, 1, 12, 0, 0)


def summary(name: str, minutes: int) -> dict[str, Any]:
    return {"ChangeSetName": name, "ChangeSetId": f"arn:{name}:{minutes}",
            "CreationTime": T0 + timedelta(minutes=minutes)}


def test_default_name_is_a_timestamp_outside_github_actions() -> None:
    n = naming(None, {}, "20260101-120000")
    assert n == Naming("deploy-py-20260101-120000") and not n.chosen


def test_github_actions_run_names_its_change_sets() -> None:
    n = naming(None, {"GITHUB_RUN_ID": "9876543210", "GITHUB_RUN_ATTEMPT": "2"}, "x")
    assert n.name == "deploy-py-run-9876543210-2" and n.run == "9876543210" and n.attempt == 2 and n.chosen
    assert naming(None, {"GITHUB_RUN_ID": "5"}, "x").name == "deploy-py-run-5-1"


def test_an_explicit_name_wins_over_the_run() -> None:
    n = naming("review-42", {"GITHUB_RUN_ID": "5"}, "x")
    assert n == Naming("review-42", exact=True) and n.chosen


@pytest.mark.parametrize("name, ok", [
    ("a", True), ("Review-42", True), ("x" * 128, True),
    ("x" * 129, False), ("42-review", False), ("review_42", False), ("review 42", False), ("", False),
    ("-review", False), ("réview", False),
])
def test_change_set_names_follow_cloudformation(name: str, ok: bool) -> None:
    problem = change_set_name_problem(name)
    assert (problem is None) is ok
    if problem:
        assert "not a valid change set name" in problem


def test_execute_in_a_run_takes_that_run_and_not_a_newer_pull_request_plan() -> None:
    main_plan, pr_plan = summary("deploy-py-run-100-1", 0), summary("deploy-py-run-200-1", 5)
    chosen = pick_planned(naming(None, {"GITHUB_RUN_ID": "100"}, "x"), [main_plan, pr_plan])
    assert chosen is main_plan
    assert pick_planned(naming(None, {"GITHUB_RUN_ID": "300"}, "x"), [main_plan, pr_plan]) is None


def test_a_rerun_execute_job_takes_the_latest_attempt_up_to_its_own() -> None:
    first, second = summary("deploy-py-run-100-1", 0), summary("deploy-py-run-100-2", 3)
    later_attempt = summary("deploy-py-run-100-3", 6)
    prefix_trap = summary("deploy-py-run-1000-1", 9)  # run 1000 is another run, not run 100
    found = [first, second, later_attempt, prefix_trap]
    assert pick_planned(naming(None, {"GITHUB_RUN_ID": "100", "GITHUB_RUN_ATTEMPT": "2"}, "x"), found) is second
    assert pick_planned(naming(None, {"GITHUB_RUN_ID": "100", "GITHUB_RUN_ATTEMPT": "4"}, "x"), [first]) is first


def test_an_explicit_name_takes_only_that_name_newest_first() -> None:
    old, new, other = summary("review-42", 0), summary("review-42", 2), summary("deploy-py-20260101-130000", 9)
    assert pick_planned(naming("review-42", {}, "x"), [old, other, new]) is new
    assert pick_planned(naming("review-43", {}, "x"), [old, other, new]) is None


def test_without_a_name_execute_takes_the_newest_deploy_py_change_set() -> None:
    ours, newer_ours, foreign = summary("deploy-py-1", 0), summary("deploy-py-run-7-1", 1), summary("manual", 9)
    assert pick_planned(naming(None, {}, "x"), [ours, foreign, newer_ours]) is newer_ours
    assert pick_planned(naming(None, {}, "x"), [foreign]) is None
