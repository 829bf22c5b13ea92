"""One batch of stacks: every change set made in parallel, shown one after another, one question,
the chosen ones executed in parallel.

Nothing is printed into another stack's table and no question is drawn into the progress line:
the tables and the question happen between the two parallel steps, on the main thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from deployer.commands.actions import Cancelled, Context, StackResult, discard, execute, prepare_stack
from deployer.planning.executor import parallel
from deployer.planning.planner import StackPlan


def run_batch(
    ctx: Context, stacks: dict[str, StackPlan], batch: list[str], states: dict[str, Any],
    on_interrupt: Callable[[], None],
) -> dict[str, StackResult]:
    """deploy and --plan: make the change sets, show them, ask once, execute the chosen ones."""
    made = parallel(batch, lambda st: prepare_stack(ctx, stacks[st], states.get(st)), on_interrupt)
    chosen = decide(ctx, [made[st] for st in batch], discard_declined=True)
    done = parallel(chosen, lambda st: run_ready(ctx, stacks[st], made[st], discard_unrun=True), on_interrupt)
    return {**made, **done}


def decide(ctx: Context, results: list[StackResult], discard_declined: bool) -> list[str]:
    """Show each change set (in batch order), then ask once for all that wait; the stacks to execute."""
    for r in results:
        if r.status in ("ready", "planned"):
            ctx.report.change_set(r.stack, r.change_set, r.changes, r.parameters)
        if r.status == "planned":
            ctx.report.stack(r.stack, f"review: {r.console_url}")
    ready = [r for r in results if r.status == "ready"]
    if not ready:
        return []
    try:
        with ctx.report.paused():  # a question on the terminal: no progress line drawn over it
            chosen = set(ctx.confirm([(r.stack_name, len(r.changes)) for r in ready]))
    except BaseException:  # Ctrl-C or end of input at the question: nothing executes, nothing is left
        if discard_declined:
            for r in ready:
                discard(ctx, r)
        raise
    for r in ready:
        if r.stack_name not in chosen:
            r.status, r.reason = "declined", "not confirmed"
            if discard_declined:
                discard(ctx, r)
    return [r.stack for r in ready if r.stack_name in chosen]


def run_ready(ctx: Context, sp: StackPlan, result: StackResult, discard_unrun: bool) -> StackResult:
    """Execute a confirmed change set and wait for the stack (events streamed, failures first)."""
    start = time.monotonic()
    try:
        execute(ctx, sp, result.change_set["ChangeSetId"], result.change_set["StackId"], result)
    except Cancelled:
        result.status, result.reason = "interrupted", "Ctrl-C"
    finally:
        if discard_unrun and not result.executed:
            discard(ctx, result)
    result.seconds = round(result.seconds + time.monotonic() - start, 2)
    if result.ok:
        ctx.after_success(sp.stack)
    return result


def deploy_stack(ctx: Context, sp: StackPlan, existing: dict[str, Any] | None) -> StackResult:
    """One stack on its own: a batch of one (make, show, confirm, execute)."""
    return run_batch(ctx, {sp.stack: sp}, [sp.stack], {sp.stack: existing}, lambda: None)[sp.stack]
