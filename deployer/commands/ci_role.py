"""The CloudFormation role the `ci` stack publishes: deploy.py names it as RoleARN of the change sets
it executes, so CloudFormation acts with that role and the caller (the pipeline's deploy role) needs
only iam:PassRole of it. Without the ci stack nothing changes: change sets run as the caller.

A change set made by `--plan` names no role (the plan role may pass none). Executed on a stack
already bound to the role, CloudFormation uses that role; on a stack that is not (a new one, or one
created before the ci stack), `--execute` makes the change set again from the same template, now
with the role, instead of letting it run with the deploy role's own, narrower rights.
"""

from __future__ import annotations

from typing import Any

from deployer.aws import runner, storage
from deployer.commands.actions import Context, StackResult, acting_role, prepare_stack
from deployer.planning.planner import StackPlan
from generators.naming import CLOUDFORMATION_ROLE_KEY, ci_param


def cloudformation_role(clients: runner.Clients, prefix: str) -> str | None:
    path = ci_param(prefix, CLOUDFORMATION_ROLE_KEY)
    return storage.get_parameters(clients.ssm, [path]).get(path)


def unbound(ctx: Context, stack: str, state: dict[str, Any] | None) -> bool:
    """A planned change set here would run without the CloudFormation role."""
    role = acting_role(ctx, stack)
    return bool(role) and (state is None or state.get("StackStatus") == "REVIEW_IN_PROGRESS"
                           or not state.get("RoleARN"))


def remake(ctx: Context, sp: StackPlan, state: dict[str, Any] | None) -> StackResult:
    ctx.report.stack(sp.stack, "planned without the CloudFormation role (the stack is not bound to it yet): "
                               "making its change set again from the same template, with the role")
    return prepare_stack(ctx, sp, state)
