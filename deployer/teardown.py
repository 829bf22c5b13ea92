"""`--destroy`: delete the selected stacks in reverse dependency order, after confirmation.

Refused, before anything is deleted, when a deployed stack that is not selected still reads a
selected stack's SSM parameters, or when termination protection is on (with the command to lift it).
"""

from __future__ import annotations

from collections.abc import Callable

from . import preflight, regions
from .actions import Context, StackResult, delete_stack
from .commands import Options, Session, all_stack_names, connect, finish, interrupt, prepare
from .errors import UsageError
from .executor import run_batches
from .planner import destroy_blockers


def destroy(opts: Options, confirm_all: Callable[[list[str]], bool]) -> int:
    s = prepare(opts)
    clients = connect(s, opts)
    order = [list(b) for b in reversed(s.plan.batches)]
    s.report.line(f"destroy: env {s.cfg.env.name}, prefix {s.cfg.prefix}, region {clients.region}")
    for i, batch in enumerate(order, 1):
        s.report.line(f"  batch {i}: {', '.join(batch)}")
    preflight.identity(clients, s.cfg)
    states = preflight.stack_states(clients, all_stack_names(s), s.regions)
    deployed = {st for st, state in states.items() if state}
    _refuse_blocked(s, deployed)
    _refuse_protected(s, states, clients.region)
    targets = [st for st in s.plan.order if st in deployed]
    if not targets:
        s.report.line("nothing to destroy: none of the selected stacks exists")
        return finish(s, opts, {}, "destroy")
    if not opts.yes and not confirm_all([s.plan.stacks[t].stack_name for t in targets]):
        raise UsageError("not confirmed — nothing was deleted")
    ctx = Context(clients, s.report, tags={})

    def work(stack: str) -> StackResult:
        state = states[stack]
        if state is None:
            return StackResult(stack, s.plan.stacks[stack].stack_name, action="delete", status="absent")
        result = delete_stack(ctx, stack, state, s.regions.get(stack, ""))
        if result.status == "deleted" and stack in s.regions:  # its copies in the environment's region
            regions.remove_copies(clients, stack, s.contract.writes[stack], s.report)
        return result

    def skipped(stack: str) -> StackResult:
        return StackResult(stack, s.plan.stacks[stack].stack_name, action="delete", status="skipped")

    results = run_batches(order, work, skipped, lambda: interrupt(ctx, s))
    return finish(s, opts, results, "destroy")


def _refuse_blocked(s: Session, deployed: set[str]) -> None:
    blockers = destroy_blockers(s.plan, deployed)
    if blockers:
        parts = [f"{', '.join(readers)} still read{'s' if len(readers) == 1 else ''} {stack}'s SSM parameters"
                 for stack, readers in blockers.items()]
        everyone = sorted(set(s.plan.stacks) | {r for rs in blockers.values() for r in rs})
        raise UsageError(f"refusing to destroy: {'; '.join(parts)} — destroy them first or together "
                         f"({' '.join('--stack ' + st for st in everyone)})")


def _refuse_protected(s: Session, states: dict[str, dict | None], region: str) -> None:
    protected = [st["StackName"] for name, st in states.items()
                 if st and name in s.plan.stacks and st.get("EnableTerminationProtection")]
    if protected:
        lift = "; ".join(f"aws cloudformation update-termination-protection --no-enable-termination-protection "
                         f"--stack-name {st['StackName']} --region {preflight.stack_region(st, region)}"
                         for st in states.values() if st and st["StackName"] in protected)
        raise UsageError(f"termination protection is on for {', '.join(protected)} (foundation stacks are "
                         f"protected on purpose) — if you really mean it, lift it first: {lift}")
