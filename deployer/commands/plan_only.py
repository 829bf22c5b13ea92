"""`--plan` reads and proposes, never writes (issue 12): it runs as the ci stack's plan role, which may
create, describe and delete change sets and upload under the artifacts bucket's plan/ prefix, and
nothing else. So a plan creates no origin secret, writes no SSM parameter, makes or hardens no
bucket, deletes no stack, registers no placeholder image and converges nothing.

CloudFormation resolves every SSM-typed parameter when a change set is created, so a stack that
reads a parameter that does not exist yet cannot be planned at all. Such a stack is "not planned"
with one line saying which deploy creates what it lacks; the other stacks are planned. A plan with
a stack not planned exits 3, like one with change sets to review: something waits for a deploy
(the pipelines' deploy job, as the deploy role, makes it: .github/actions/change-set).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from deployer.commands.actions import StackResult
from deployer.planning.planner import Plan, image_service
from generators.contract import AWS_PUBLIC_PREFIX
from generators.naming import is_origin_secret_param

NOT_PLANNED = "not planned"


def gaps(plan: Plan, existing: set[str], rerun: str) -> dict[str, str]:
    """Stack -> why it cannot be planned now (the first parameter it reads that does not exist)."""
    why: dict[str, str] = {}
    for stack in plan.order:
        for path in sorted(plan.stacks[stack].reads.values()):
            if path in existing or path.startswith(AWS_PUBLIC_PREFIX):
                continue
            why[stack] = _line(stack, path, plan.contract.writer.get(path), rerun)
            break
    return why


def _line(stack: str, path: str, writer: str | None, rerun: str) -> str:
    if is_origin_secret_param(path):
        return (f"not planned: it reads {path}, which the first deploy creates with the origin secret (a plan "
                f"writes nothing) — the deploy job makes it as the deploy role, or: python deploy.py --stack {stack} "
                f"{rerun}")
    if writer is None:
        service = image_service(path)
        return (f"not planned: no image published yet ({path} does not exist) — the pipeline's deploy job "
                f"publishes the first one, or once as the deploy role: python deploy.py --publish {service} {rerun}")
    return (f"not planned: it reads {path}, which stack {writer} writes when it is deployed (a plan deploys "
            f"nothing) — deploy {writer} first: python deploy.py --stack {writer} {rerun}")


def without(plan: Plan, stacks: set[str]) -> Plan:
    """The plan minus `stacks` (batches that end up empty dropped)."""
    batches = [kept for batch in plan.batches if (kept := [st for st in batch if st not in stacks])]
    return replace(plan, batches=batches, stacks={k: v for k, v in plan.stacks.items() if k not in stacks})


def results(plan: Plan, why: dict[str, str], report: Any) -> dict[str, StackResult]:
    """One line per stack not planned, as its result (shown and counted like a plan to review)."""
    out: dict[str, StackResult] = {}
    for stack, line in why.items():
        report.stack(stack, line)
        out[stack] = StackResult(stack, plan.stacks[stack].stack_name, status=NOT_PLANNED, reason=line)
    return out
