"""What every run checks after a stack's deploy, whether or not its change set changed anything.

- Foundation stacks carry termination protection. A first run interrupted between create and
  protect (or an endpoint that failed there) leaves it off; the next run turns it on again.
  An endpoint that does not implement the call gets a warning naming the step, not a failed deploy.
- The SSM parameters a stack writes exist. One deleted outside CloudFormation is invisible to a
  change set ("no changes"), so readers would be told to deploy the writer forever: the writer is
  updated without the parameter's resource, then with it, and CloudFormation writes it again.
"""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from deployer.aws import runner
from deployer.errors import Failed
from deployer.planning.planner import Kind, StackPlan, classify
from deployer.presentation.report import Reporter

# What an endpoint answers for an API it does not implement (moto: HTTP 500 with an HTML page, or
# a 404 "not yet implemented"; other emulators: NotImplemented / InvalidAction).
NOT_IMPLEMENTED_CODES = ("NotImplemented", "InvalidAction", "UnknownOperationException", "NotYetImplemented",
                         "404", "500", "501")


def not_implemented(exc: Exception) -> bool:
    if isinstance(exc, ResponseParserError):
        return True
    if isinstance(exc, ClientError):
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        return runner.error_code(exc) in NOT_IMPLEMENTED_CODES or status in ("404", "500", "501")
    return False


def ensure_protection(clients: runner.Clients, report: Reporter, stack: str, stack_name: str) -> None:
    """Turn termination protection on (the caller knows it is off, or that the stack is new)."""
    try:
        runner.set_termination_protection(clients.cf_once, stack_name, True)
    except (ClientError, ResponseParserError, BotoCoreError) as exc:
        if not not_implemented(exc):
            raise
        detail = "its answer is not an AWS response" if isinstance(exc, ResponseParserError) else \
            f"{runner.error_code(exc)}: {runner.error_message(exc)}"[:160]
        report.warn(f"{stack}: optional step skipped: termination protection (UpdateTerminationProtection) — "
                    f"the endpoint does not implement it ({detail}); the next run tries again")
        return
    report.stack(stack, "termination protection on (foundation stack)")


def restore_parameters(clients: runner.Clients, report: Reporter, sp: StackPlan, missing: list[str]) -> None:
    """Two updates of the writer: without the missing parameters' resources, then as committed."""
    body = json.loads(sp.body)
    drop = sorted(k for k, r in body["Resources"].items()
                  if r["Type"] == "AWS::SSM::Parameter" and r.get("Properties", {}).get("Name") in missing)
    report.stack(sp.stack, f"{', '.join(missing)} missing though the stack is deployed (deleted outside "
                           f"CloudFormation): restoring it — updating {sp.stack} without {', '.join(drop)}, "
                           "then with them")
    without = {**body, "Resources": {k: r for k, r in body["Resources"].items() if k not in drop}}
    for step, template in enumerate((json.dumps(without), sp.body), 1):
        _apply(clients, sp, template, f"deploy-py-restore-{time.strftime('%Y%m%d-%H%M%S')}-{step}")
    report.stack(sp.stack, f"restored {', '.join(missing)}")


def _apply(clients: runner.Clients, sp: StackPlan, template: str, name: str) -> None:
    cf = clients.cf
    cs_id = runner.create_change_set(cf, {"StackName": sp.stack_name, "ChangeSetName": name,
                                          "ChangeSetType": "UPDATE", "TemplateBody": template,
                                          "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]})
    cs = runner.wait_change_set(cf, cs_id)
    if runner.change_set_kind(cs) is not Kind.READY:
        runner.delete_change_set(cf, cs_id)
        raise RestoreFailed(f"change set {name} of {sp.stack_name}: {cs.get('Status')} {cs.get('StatusReason', '')}")
    seen = {e["EventId"] for e in runner.new_events(cf, cs["StackId"], set())}
    runner.execute_change_set(cf, cs_id)
    final = runner.wait_stack(cf, cs["StackId"], lambda batch: None, seen)
    if classify("stack", final["StackStatus"]) is not Kind.STABLE:
        raise RestoreFailed(f"{sp.stack_name} ended {final['StackStatus']}: {final.get('StackStatusReason', '')}")


class RestoreFailed(Failed):
    """The two-step update that restores a deleted parameter did not complete."""


def after_stack(clients: runner.Clients, report: Reporter, sp: StackPlan, before: dict[str, Any] | None,
                missing: list[str], protect: bool) -> None:
    """The checks above, for one stack that just deployed (or reported no changes). `before`: its
    state at pre-flight; `missing`: the parameters it writes that were absent then (known only for a
    stack that existed: a new one writes all of its own)."""
    if protect and not (before and before.get("EnableTerminationProtection")):
        ensure_protection(clients, report, sp.stack, sp.stack_name)
    if before is not None and missing:
        restore_parameters(clients, report, sp, missing)


def refused_execute(clients: runner.Clients, sp: StackPlan, exc: ClientError) -> str:
    """One line for an endpoint that fails ExecuteChangeSet itself (AWS accepts the call and fails
    the stack instead): the stack, the resources it did not get to, and the endpoint's reason."""
    made = runner.resource_ids(clients.cf, sp.stack_name)
    resources = json.loads(sp.body)["Resources"]
    missing = [f"{k} ({r['Type']})" for k, r in sorted(resources.items()) if k not in made]
    where = f"resource(s) not created: {', '.join(missing)}" if missing else "every resource was created"
    return (f"{sp.stack_name}: the endpoint failed the change set: {runner.error_code(exc)}: "
            f"{runner.error_message(exc)} ({where}; a resource type the endpoint cannot create?)")
