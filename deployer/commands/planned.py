"""`--execute`: run the change sets a previous `--plan` left for review, by name, never recreating them.

Which one is the planner's decision (`pick_planned`): the name given with --change-set-name, else
this GitHub Actions run's, else the newest deploy.py made.

All of them are checked before any runs: still executable, and made from the template file as it
is now (the digest in the change set's Description). A stale or missing plan is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from deployer.aws import runner
from deployer.commands import ci_role
from deployer.commands.actions import Context, StackResult
from deployer.commands.batch import decide, run_ready
from deployer.commands.review import review
from deployer.errors import UsageError
from deployer.planning.executor import parallel, run_grouped
from deployer.planning.planner import (
    CHANGE_SET_PREFIX,
    Kind,
    Naming,
    Plan,
    StackPlan,
    change_rows,
    digest_of,
    pick_planned,
)


def find_planned(ctx: Context, plan: Plan) -> dict[str, dict[str, Any]]:
    """Stack -> the change set --plan left on it (by name: see planner.pick_planned), described;
    refuses stale or dead ones."""
    found: dict[str, dict[str, Any]] = {}
    for stack, sp in plan.stacks.items():
        chosen = pick_planned(ctx.naming, runner.list_change_sets(ctx.at(sp.stack).cf, sp.stack_name))
        if chosen is None:
            continue
        cs = runner.describe_change_set(ctx.at(sp.stack).cf, chosen["ChangeSetId"])
        name = cs["ChangeSetName"]
        if runner.change_set_kind(cs) is not Kind.READY:
            raise UsageError(f"change set {name} of {sp.stack_name} is no longer executable "
                             f"({cs.get('Status')}/{cs.get('ExecutionStatus')}) — run --plan again")
        if digest_of(cs.get("Description")) != sp.digest:
            raise UsageError(f"change set {name} of {sp.stack_name} was made from a template other than "
                             f"{sp.path.name} as it is now — run --plan again and review the new change set")
        if not runner.templates_by_change_set(ctx.at(sp.stack).cf, sp.stack_name):
            raise UsageError(f"change set {name} of {sp.stack_name} cannot be verified: this endpoint answers "
                             "GetTemplate with the stack's template, not the change set's (it does not support "
                             "GetTemplate by change set), so nothing was executed — plan and execute in one run: "
                             f"python deploy.py --stack {stack} with the same --env, without --plan or --execute")
        if not holds_what_it_claims(ctx, sp, cs):
            raise UsageError(f"change set {name} of {sp.stack_name} holds a template or parameter values other "
                             f"than {sp.path.name} (its description says otherwise): it was not made by --plan "
                             "from this commit, nothing was executed — delete it, run --plan again and review")
        found[stack] = cs
    if not found:
        raise UsageError(f"no change sets from --plan found for the selected stacks ({_looked_for(ctx.naming)}) "
                         "— run --plan first")
    return found


def holds_what_it_claims(ctx: Context, sp: StackPlan, cs: dict[str, Any]) -> bool:
    """The Description's digest is written by whoever made the change set, and a pull request's plan
    job can make one under any name: what runs is checked instead, the template itself and every
    parameter left at the template's default (deploy.py passes none)."""
    template = json.loads(sp.body)
    if runner.change_set_template(ctx.at(sp.stack).cf, sp.stack_name, cs["ChangeSetId"]) != template:
        return False
    defaults = {k: p.get("Default") for k, p in template.get("Parameters", {}).items()}
    return all(p.get("ParameterKey") in defaults and p.get("ParameterValue") == defaults[p["ParameterKey"]]
               for p in cs.get("Parameters", []))


def _looked_for(n: Naming) -> str:
    if n.exact:
        return f"named {n.name}"
    if n.run is not None:
        return f"made by workflow run {n.run}, attempt {n.attempt} or earlier"
    return f"newest named {CHANGE_SET_PREFIX}-*"


def execute_planned(
    ctx: Context, plan: Plan, states: dict[str, Any], on_interrupt: Callable[[], None]
) -> dict[str, StackResult]:
    planned = find_planned(ctx, plan)

    def pending(stack: str) -> StackResult:
        sp = plan.stacks[stack]
        state = states.get(stack)
        creating = state is None or state["StackStatus"] == "REVIEW_IN_PROGRESS"
        result = StackResult(stack, sp.stack_name, action="create" if creating else "update")
        if stack not in planned:
            result.status, result.reason = "no changes", "nothing was planned for this stack"
            ctx.report.stack(stack, "no changes (nothing planned)")
            return result
        if ci_role.unbound(ctx, stack, state):
            return ci_role.remake(ctx, sp, state)
        cs = planned[stack]
        result.change_set_id, result.change_set, result.status = cs["ChangeSetId"], cs, "ready"
        result.changes, result.parameters = review(ctx.at(sp.stack), sp, change_rows(cs["Changes"]),
                                                   None if creating else state)
        result.console_url = ctx.report.console_url(cs)
        return result

    def batch(stacks: list[str]) -> dict[str, StackResult]:
        found = parallel(stacks, pending, on_interrupt)
        # A declined plan stays for a later --execute: only deploy's own change sets are discarded.
        chosen = decide(ctx, [found[st] for st in stacks], discard_declined=False)
        done = parallel(chosen, lambda st: run_ready(ctx, plan.stacks[st], found[st], discard_unrun=False),
                        on_interrupt)
        return {**found, **done}

    def skipped(stack: str) -> StackResult:
        return StackResult(stack, plan.stacks[stack].stack_name, status="skipped", reason="an earlier stack failed")

    return run_grouped(plan.batches, batch, skipped)
