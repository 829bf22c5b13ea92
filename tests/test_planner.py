"""The pure parts of the deployer, without a server: ordering, status kinds, change-set arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deployer.planning.planner import (
    TEMPLATE_BODY_LIMIT,
    Kind,
    Poller,
    StackPlan,
    change_rows,
    change_set_args,
    classify,
    destroy_blockers,
    digest_of,
    make_plan,
    missing_parameters,
    select_stacks,
    stack_tags,
)
from deployer.presentation.report import mermaid
from generators.contract import build_contract

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "dev"
ALL = ["infrastructure", "registry", "app-api", "inference-api", "frontend", "auth", "alerts"]


def plan_for(selected: list[str]):  # type: ignore[no-untyped-def]
    bodies = {p.stem: p.read_text() for p in TEMPLATES.glob("*.json")}
    contract = build_contract({s: json.loads(b) for s, b in bodies.items()})
    files = {s: TEMPLATES / f"{s}.json" for s in bodies}
    return make_plan(contract, "layered-dev", selected, files, bodies)


def test_order_comes_from_the_ssm_contract() -> None:
    plan = plan_for(ALL)
    assert plan.batches == [["alerts", "infrastructure", "registry"], ["frontend"], ["auth"],
                            ["app-api", "inference-api"]]
    assert plan_for(["app-api", "infrastructure"]).batches == [["infrastructure"], ["app-api"]]


@pytest.mark.parametrize("status, kind", [
    (None, Kind.ABSENT), ("DELETE_COMPLETE", Kind.ABSENT), ("CREATE_COMPLETE", Kind.STABLE),
    ("UPDATE_COMPLETE", Kind.STABLE), ("UPDATE_ROLLBACK_COMPLETE", Kind.ROLLED_BACK),
    ("ROLLBACK_COMPLETE", Kind.RECREATE), ("REVIEW_IN_PROGRESS", Kind.RECREATE),
    ("UPDATE_ROLLBACK_FAILED", Kind.STUCK), ("DELETE_FAILED", Kind.STUCK),
    ("UPDATE_IN_PROGRESS", Kind.PENDING), ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", Kind.PENDING),
    ("UPDATE_ROLLBACK_IN_PROGRESS", Kind.PENDING), ("DELETE_IN_PROGRESS", Kind.PENDING),
])
def test_stack_statuses(status: str | None, kind: Kind) -> None:
    assert classify("stack", status) is kind


@pytest.mark.parametrize("status, execution, reason, kind", [
    ("CREATE_PENDING", "UNAVAILABLE", "", Kind.PENDING),
    ("CREATE_IN_PROGRESS", "UNAVAILABLE", "", Kind.PENDING),
    ("CREATE_COMPLETE", "AVAILABLE", "", Kind.READY),
    ("FAILED", "UNAVAILABLE", "The submitted information didn't contain changes. Submit different information",
     Kind.NO_CHANGES),
    ("FAILED", "UNAVAILABLE", "No updates are to be performed.", Kind.NO_CHANGES),
    ("FAILED", "UNAVAILABLE", "Template format error", Kind.DEFUNCT),
    ("CREATE_COMPLETE", "EXECUTE_COMPLETE", "", Kind.DEFUNCT),
    ("CREATE_COMPLETE", "OBSOLETE", "", Kind.DEFUNCT),
])
def test_change_set_statuses(status: str, execution: str, reason: str, kind: Kind) -> None:
    assert classify("change-set", status, execution, reason) is kind


def test_select_stacks() -> None:
    assert select_stacks(["all"], ALL) == (ALL, [])
    assert select_stacks(["frontend", "infrastructure"], ALL) == (["infrastructure", "frontend"], [])
    assert select_stacks(["nope", "registry"], ALL) == (["registry"], ["nope"])


def test_missing_parameters_name_their_writer_unless_written_earlier() -> None:
    only_app = missing_parameters(plan_for(["app-api"]), existing=set())
    writers = {m.writer for m in only_app}
    assert writers == {"infrastructure", "registry", "auth", "alerts", None}  # None: the image tag (--publish)
    with_foundation = missing_parameters(plan_for(["infrastructure", "registry", "frontend", "auth", "alerts",
                                                   "app-api"]), existing=set())
    assert [(m.path, m.writer) for m in with_foundation] == [("/layered-dev/app-api/image-tag", None)]
    provided = missing_parameters(plan_for(ALL), set(), provided={"/layered-dev/app-api/image-tag",
                                                                  "/layered-dev/inference-api/image-tag"})
    assert provided == []


def test_change_set_arguments() -> None:
    sp = StackPlan("registry", "layered-dev-registry", Path("registry.json"), '{"Resources": {}}', {})
    args = change_set_args(sp, "deploy-py-20260101-000000", "CREATE", stack_tags("proj", "dev", "registry"), None)
    assert args["ChangeSetName"] == "deploy-py-20260101-000000" and args["ChangeSetType"] == "CREATE"
    assert args["TemplateBody"] == sp.body and "TemplateURL" not in args
    assert {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"} <= set(args["Capabilities"])
    assert {t["Key"]: t["Value"] for t in args["Tags"]} == {"project": "proj", "environment": "dev",
                                                          "stack": "registry"}
    assert digest_of(args["Description"]) == sp.digest
    by_url = change_set_args(sp, "x", "UPDATE", {}, "https://b.s3.us-east-1.amazonaws.com/k.json")
    assert by_url["TemplateURL"].endswith("k.json") and "TemplateBody" not in by_url


def test_template_size_counts_utf8_bytes() -> None:
    body = "é" * (TEMPLATE_BODY_LIMIT // 2 + 1)  # under the limit in characters, over it in bytes
    sp = StackPlan("x", "p-x", Path("x.json"), body, {})
    assert len(body) < TEMPLATE_BODY_LIMIT < sp.size


def test_change_rows_flag_replacements_and_removals() -> None:
    rows = change_rows([
        {"ResourceChange": {"Action": "Modify", "LogicalResourceId": "A", "ResourceType": "T", "Replacement": "True"}},
        {"ResourceChange": {"Action": "Modify", "LogicalResourceId": "B", "ResourceType": "T",
                            "Replacement": "Conditional"}},
        {"ResourceChange": {"Action": "Modify", "LogicalResourceId": "C", "ResourceType": "T", "Replacement": "False"}},
        {"ResourceChange": {"Action": "Remove", "LogicalResourceId": "D", "ResourceType": "T"}},
        {"ResourceChange": {"Action": "Add", "LogicalResourceId": "E", "ResourceType": "T"}},
    ])
    assert [r.dangerous for r in rows] == [True, True, False, True, False]


def test_destroy_blockers() -> None:
    plan = plan_for(["infrastructure"])
    assert destroy_blockers(plan, deployed=set(ALL)) == {"infrastructure": ["app-api", "frontend", "inference-api"]}
    assert destroy_blockers(plan_for(ALL), deployed=set(ALL)) == {}
    assert destroy_blockers(plan, deployed={"infrastructure"}) == {}


def test_polling_starts_fast_and_never_waits_more_than_five_seconds() -> None:
    poller = Poller()
    delays = [poller.next_delay() for _ in range(30)]
    assert delays[0] <= 1.0 and max(delays) <= 5.0 and delays == sorted(delays)


def test_mermaid_graph() -> None:
    text = mermaid(plan_for(ALL).contract, "layered-dev")
    assert text.startswith("flowchart LR")
    assert 'infrastructure -- "' in text and "--> app_api" in text and "publish -- " in text
