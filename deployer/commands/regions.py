"""Stacks that live outside the environment's region, and the SSM values they write.

CloudFront-scoped WAF resources can only be created in us-east-1, so `edge` deploys there whatever
the environment's region (generators.synth.stack_regions names such stacks). Its reader, `frontend`,
lives in the environment's region, and an SSM-typed template parameter resolves only in its own
stack's region. So right after such a stack deploys (or is found unchanged), deploy.py copies every
parameter its template writes from that region into the environment's, under the same name: the
reader resolves it like any other, and the contract (one stack writes each path) still holds. The
copy is the deployer's, so `--destroy` of the stack removes it too.
"""

from __future__ import annotations

from typing import Any

from deployer.aws import runner, storage
from deployer.presentation.report import Reporter


def copy_written(clients: runner.Clients, region: str, stack: str, paths: set[str], report: Reporter) -> list[str]:
    """Copy `paths` from `region` into the clients' (the environment's) region; the paths changed."""
    source = clients.for_region(region)
    if source is clients or not paths:
        return []
    values = storage.get_parameters(source.ssm, paths)
    lost = sorted(set(paths) - set(values))
    if lost:
        # The stack deployed but its outputs are absent: say so instead of leaving readers broken.
        report.warn(f"{stack}: {', '.join(lost)} not found in {region} after the deploy — rerun the deploy of {stack}")
    here = storage.get_parameters(clients.ssm, values)
    changed = sorted(p for p, v in values.items() if here.get(p) != v)
    for path in changed:
        storage.put_parameter(clients.ssm, path, values[path])
    if changed:
        report.stack(stack, f"copied {', '.join(changed)} from {region} to {clients.region} (its readers live there)")
    return changed


def remove_copies(clients: runner.Clients, stack: str, paths: set[str], report: Reporter) -> None:
    """After an out-of-region stack is deleted: its copies in the environment's region go too."""
    removed = [p for p in sorted(paths) if storage.delete_parameter(clients.ssm, p)]
    if removed:
        report.stack(stack, f"removed the copies {', '.join(removed)} from {clients.region}")


def after_deploy(clients: runner.Clients, session: Any, stack: str) -> None:
    """The deploy command's hook: copy what an out-of-region stack wrote; nothing for the others."""
    sp = session.plan.stacks[stack]
    if sp.region:
        copy_written(clients, sp.region, stack, session.contract.writes[stack], session.report)
