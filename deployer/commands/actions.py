"""One stack's deployment in two halves: recover and create a change set (`prepare_stack`), then,
once the batch's change sets were shown and the chosen ones confirmed (deployer/commands/batch.py),
execute and wait (`execute`).

The planner decides what a status means; the runner makes the calls; this module strings them
together for one stack and returns a StackResult. It never decides order (the executor does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from deployer.aws import artifacts, runner
from deployer.commands import converge
from deployer.commands.artifacts import foreign_message
from deployer.commands.review import review
from deployer.errors import UsageError
from deployer.planning.diff import ParameterChange
from deployer.planning.planner import (
    TEMPLATE_BODY_LIMIT,
    UPDATABLE,
    ChangeRow,
    Kind,
    Naming,
    StackPlan,
    change_rows,
    change_set_args,
    classify,
    naming,
)
from deployer.presentation.report import Reporter, failed_dicts, failed_resources
from generators.naming import EXPLICIT_STACKS, PLAN_UPLOAD_PREFIX


def timestamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime())


class Cancelled(Exception):
    """Ctrl-C: stop waiting, leave the stack to the cancel request the main thread sent."""


@dataclass
class StackResult:
    stack: str
    stack_name: str
    action: str = "none"  # create | update | recreate | delete | none
    status: str = "pending"  # ready, created, updated, no changes, planned, failed, declined, skipped, deleted, ...
    seconds: float = 0.0
    change_set_id: str | None = None
    changes: list[ChangeRow] = field(default_factory=list)
    parameters: list[ParameterChange] = field(default_factory=list)  # SSM values the change set re-read
    change_set: dict[str, Any] = field(default_factory=dict, repr=False)  # described; until executed or discarded
    reason: str = ""
    stack_status: str | None = None
    executed: bool = False
    console_url: str | None = None  # the change set in the AWS console, while it exists (planned or executed)
    failed_resources: list[dict[str, Any]] = field(default_factory=list)  # logical id, type, status, reason

    @property
    def ok(self) -> bool:
        return self.status not in ("failed", "skipped", "interrupted", "declined")


@dataclass
class Context:
    clients: runner.Clients
    report: Reporter
    tags: dict[str, dict[str, str]]  # stack -> project/environment/stack tags
    naming: Naming = field(default_factory=lambda: naming(None, {}, timestamp()))
    keep_change_sets: bool = False  # --plan
    # [(stack name, number of changes)] -> the stack names to execute; asked once per batch
    confirm: Callable[[list[tuple[str, int]]], list[str]] = lambda pending: [name for name, _ in pending]
    after_success: Callable[[str], None] = lambda stack: None
    buckets: dict[str, str] = field(default_factory=dict)  # region -> artifacts bucket (commands/artifacts.py)
    artifacts_owner: str = ""  # the caller's account: ExpectedBucketOwner of every artifacts call
    protect: frozenset[str] = frozenset()  # stacks that get termination protection on create
    cancelled: threading.Event = field(default_factory=threading.Event)
    executing: dict[str, str] = field(default_factory=dict)  # stack name -> change-set type in flight
    lock: threading.Lock = field(default_factory=threading.Lock)
    regions: dict[str, str] = field(default_factory=dict)  # stacks outside the environment's region
    role_arn: str | None = None  # the ci stack's CloudFormation role, when it exists (commands/ci_role.py)

    def at(self, stack: str) -> runner.Clients:
        """Clients in the stack's own region (edge lives in us-east-1 whatever the environment's)."""
        return self.clients.for_region(self.regions.get(stack))

    def sleep(self, seconds: float) -> None:
        if self.cancelled.wait(seconds):
            raise Cancelled


def prepare_stack(ctx: Context, sp: StackPlan, existing: dict[str, Any] | None) -> StackResult:
    """Recover if needed and make the stack's change set; status `ready` when it waits for a decision."""
    result = StackResult(sp.stack, sp.stack_name)
    start = time.monotonic()
    try:
        _deploy(ctx, sp, existing, result)
    except Cancelled:
        result.status, result.reason = "interrupted", "Ctrl-C"
    result.seconds = round(time.monotonic() - start, 2)
    if result.ok and result.status not in ("planned", "ready"):
        ctx.after_success(sp.stack)
    return result


def _deploy(ctx: Context, sp: StackPlan, existing: dict[str, Any] | None, result: StackResult) -> None:
    cf = ctx.at(sp.stack).cf
    kind = classify("stack", existing["StackStatus"] if existing else None)
    if kind is Kind.RECREATE and ctx.keep_change_sets:  # a plan deletes nothing (plan_only.py)
        assert existing is not None
        if existing["StackStatus"] != "REVIEW_IN_PROGRESS":  # a shell takes a CREATE change set as it is
            result.status = "not planned"
            result.reason = (f"not planned: {sp.stack_name} is {existing['StackStatus']} from a failed first "
                             "create, which a deploy deletes and creates again (a plan deletes nothing)")
            ctx.report.stack(sp.stack, result.reason)
            return
        kind = Kind.ABSENT
    if kind is Kind.RECREATE:
        assert existing is not None
        ctx.report.stack(sp.stack, f"is {existing['StackStatus']} from a failed first create: "
                                   "deleting it and creating it again")
        events: list[dict[str, Any]] = []
        final = _delete_and_wait(ctx, sp.stack, existing["StackId"], events)
        if final["StackStatus"] != "DELETE_COMPLETE":  # never create over a stack that is still there
            result.action = "recreate"
            _failed(ctx, sp.stack, final, events, result)
            return
        result.action, kind = "recreate", Kind.ABSENT
    cs_type = "UPDATE" if kind in UPDATABLE else "CREATE"
    result.action = result.action if result.action != "none" else cs_type.lower()
    if ctx.naming.chosen and kind is not Kind.ABSENT:
        _replace_same_name(ctx, sp)
    args = change_set_args(sp, ctx.naming.name, cs_type, ctx.tags[sp.stack], _template_url(ctx, sp),
                           acting_role(ctx, sp.stack))
    cs_id = runner.create_change_set(cf, args)
    result.change_set_id = cs_id
    try:
        ctx.report.track(sp.stack, "CHANGE_SET_CREATE_IN_PROGRESS")  # the clock runs while AWS computes it
        try:
            cs = runner.wait_change_set(cf, cs_id, ctx.sleep)
        finally:
            ctx.report.untrack(sp.stack)
        _after_change_set(ctx, sp, cs, result, existing if cs_type == "UPDATE" else None)
    finally:
        if result.status not in ("planned", "ready"):
            discard(ctx, result)


def acting_role(ctx: Context, stack: str) -> str | None:
    """RoleARN for a change set: the CloudFormation role, except in --plan (the plan role may pass no
    role; a stack already bound to one keeps it) and for the ci stack (which that role may not change)."""
    return None if ctx.keep_change_sets or stack in EXPLICIT_STACKS else ctx.role_arn


def _replace_same_name(ctx: Context, sp: StackPlan) -> None:
    """A plan made again under the same name replaces the first (CloudFormation refuses a duplicate name)."""
    cf = ctx.at(sp.stack).cf
    for old in runner.list_change_sets(cf, sp.stack_name):
        if old["ChangeSetName"] == ctx.naming.name and old.get("ExecutionStatus") != "EXECUTE_COMPLETE":
            ctx.report.stack(sp.stack, f"replacing change set {ctx.naming.name} left by an earlier plan")
            runner.delete_change_set(cf, old["ChangeSetId"])


def _after_change_set(
    ctx: Context, sp: StackPlan, cs: dict[str, Any], result: StackResult, existing: dict[str, Any] | None
) -> None:
    kind = runner.change_set_kind(cs)
    if kind is Kind.NO_CHANGES:
        result.status = "no changes"
        ctx.report.stack(sp.stack, "no changes")
        return
    if kind is not Kind.READY:
        result.status, result.reason = "failed", "change set failed"
        ctx.report.stack(sp.stack, f"change set {cs.get('Status')}: {cs.get('StatusReason', '')}")
        return
    result.changes, result.parameters = review(ctx.at(sp.stack), sp, change_rows(cs["Changes"]), existing)
    result.change_set, result.console_url = cs, ctx.report.console_url(cs)
    # Shown, confirmed and executed by the batch (deployer/commands/batch.py), one stack after another.
    result.status = "planned" if ctx.keep_change_sets else "ready"


def execute(ctx: Context, sp: StackPlan, cs_id: str, stack_id: str, result: StackResult) -> None:
    """Execute one change set and wait for its stack, streaming events; failed resources first."""
    cf = ctx.at(sp.stack).cf
    seen = {e["EventId"] for e in runner.new_events(cf, stack_id, set())}
    ctx.executing[sp.stack_name] = result.action
    events: list[dict[str, Any]] = []

    def show(batch: list[dict[str, Any]]) -> None:
        events.extend(batch)
        for event in batch:
            ctx.report.event(sp.stack, event)
        ctx.report.progress(sp.stack, batch)

    operation = "CREATE" if result.action in ("create", "recreate") else "UPDATE"
    try:
        runner.execute_change_set(cf, cs_id)
    except ClientError as exc:  # an endpoint that fails the call instead of the stack (an emulator)
        result.status = "failed"
        result.reason = converge.refused_execute(ctx.at(sp.stack), sp, exc)
        ctx.report.line(f"{sp.stack} failed: {result.reason}")
        return
    ctx.report.track(sp.stack, f"{operation}_IN_PROGRESS", len(result.changes))
    try:
        result.executed = True
        final = runner.wait_stack(cf, stack_id, show, seen, ctx.sleep)
    finally:
        ctx.report.untrack(sp.stack)
    ctx.executing.pop(sp.stack_name, None)
    result.stack_status = final["StackStatus"]
    if classify("stack", final["StackStatus"]) is Kind.STABLE:
        result.status = "created" if final["StackStatus"] == "CREATE_COMPLETE" else "updated"
        ctx.report.stack(sp.stack, final["StackStatus"])  # protection: converge.py, on every run
        return
    _failed(ctx, sp.stack, final, events, result)


def _failed(ctx: Context, stack: str, final: dict[str, Any], events: list[dict[str, Any]], result: StackResult) -> None:
    failed = failed_resources(events)
    result.status, result.reason = "failed", final.get("StackStatusReason", final["StackStatus"])
    result.failed_resources = failed_dicts(failed)
    ctx.report.failure(stack, final, failed)


def discard(ctx: Context, result: StackResult) -> None:
    """Delete a change set we made and did not execute; for a new stack, also its empty shell."""
    if not result.change_set_id:
        return
    cf = ctx.at(result.stack).cf
    runner.delete_change_set(cf, result.change_set_id)
    if result.action in ("create", "recreate") and not ctx.keep_change_sets:  # a plan leaves the shell
        shell = runner.describe_stack(cf, result.stack_name)
        if shell and shell["StackStatus"] == "REVIEW_IN_PROGRESS":
            runner.delete_stack(cf, shell["StackId"])


def _delete_and_wait(
    ctx: Context, stack: str, stack_id: str, events: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    cf = ctx.at(stack).cf
    seen = {e["EventId"] for e in runner.new_events(cf, stack_id, set())}
    sink = events if events is not None else []

    def collect(batch: list[dict[str, Any]]) -> None:
        sink.extend(batch)
        ctx.report.progress(stack, batch)

    ctx.report.track(stack, "DELETE_IN_PROGRESS")
    try:
        runner.delete_stack(cf, stack_id)
        return runner.wait_stack(cf, stack_id, collect, seen, ctx.sleep)
    finally:
        ctx.report.untrack(stack)


def delete_stack(ctx: Context, stack: str, existing: dict[str, Any]) -> StackResult:
    result = StackResult(stack, existing["StackName"], action="delete")
    start = time.monotonic()
    ctx.report.stack(stack, "deleting")
    events: list[dict[str, Any]] = []
    try:
        final = _delete_and_wait(ctx, stack, existing["StackId"], events)
        result.stack_status = final["StackStatus"]
        if final["StackStatus"] == "DELETE_COMPLETE":
            result.status = "deleted"
        else:
            _failed(ctx, stack, final, events, result)
    except Cancelled:
        result.status = "interrupted"
    result.seconds = round(time.monotonic() - start, 2)
    if result.status != "failed":
        ctx.report.stack(stack, result.status)
    return result


def _template_url(ctx: Context, sp: StackPlan) -> str | None:
    """Templates above CloudFormation's body limit go through the artifacts bucket."""
    if sp.size <= TEMPLATE_BODY_LIMIT:
        return None
    # TemplateURL must name a bucket in the stack's own region: one artifacts bucket per region, resolved
    # (created, owner checked) in pre-flight by deployer/commands/artifacts.py.
    clients = ctx.at(sp.stack)
    s3, region = clients.s3, clients.region
    bucket = ctx.buckets[region]
    with ctx.lock:
        try:
            if ctx.keep_change_sets:  # a plan creates and hardens nothing: the bucket must be ours already
                if artifacts.bucket_state(s3, bucket, ctx.artifacts_owner) != "mine":
                    raise artifacts.ForeignBucket(bucket)
            else:
                artifacts.ensure_bucket(s3, None, bucket, region, ctx.artifacts_owner)
        except artifacts.ForeignBucket:  # taken between the pre-flight check and now
            raise UsageError(foreign_message(bucket, ctx.artifacts_owner)) from None
    # --plan uploads under plan/, which the deploy role cannot read: a pull request's plan job never
    # places a template a deployment then uses.
    key = f"{PLAN_UPLOAD_PREFIX if ctx.keep_change_sets else ''}{sp.stack_name}/{sp.digest}.json"
    return artifacts.upload_template(s3, bucket, key, sp.body, region, ctx.artifacts_owner)
