"""`--destroy`: delete the selected stacks in reverse dependency order, after confirmation.

Refused, before anything is deleted, when a deployed stack that is not selected still reads a
selected stack's SSM parameters, when termination protection is on (with the command to lift it),
or when the registry's repositories still hold images (ECR would refuse, half-way through): the
exact command to empty them is given, or `--force` empties them after a second confirmation.
It says what it keeps and why, so a redeploy converges.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from deployer.aws import runner, storage
from deployer.commands import preflight, regions
from deployer.commands.actions import Context, StackResult, delete_stack
from deployer.commands.deploy import Options, Session, all_stack_names, connect, finish, interrupt, prepare
from deployer.errors import Declined, UsageError
from deployer.planning.executor import run_batches
from deployer.planning.planner import destroy_blockers
from generators.naming import IMAGE_TAG_KEY, repository_name, service_param

Confirm = Callable[[str, str], bool]


def destroy(opts: Options, confirm: Confirm) -> int:
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
    images = _images_left(s, clients) if "registry" in targets else {}
    if images and not opts.force:
        raise UsageError(_images_message(s, opts, clients.region, images))
    _confirm(s, opts, confirm, targets, images)
    for line in _kept(s, clients, targets):
        s.report.line(line)
    ctx = Context(clients, s.report, tags={}, regions=s.regions)

    def work(stack: str) -> StackResult:
        if stack == "registry" and images:
            _empty(s, clients, images)
        result = delete_stack(ctx, stack, states[stack] or {})
        if result.status == "deleted" and stack in s.regions:  # its copies in the environment's region
            regions.remove_copies(clients, stack, s.contract.writes[stack], s.report)
        return result

    def skipped(stack: str) -> StackResult:
        return StackResult(stack, s.plan.stacks[stack].stack_name, action="delete", status="skipped")

    results = run_batches([[st for st in b if st in deployed] for b in order], work, skipped,
                          lambda: interrupt(ctx, s))
    return finish(s, opts, results, "destroy")


def _confirm(s: Session, opts: Options, confirm: Confirm, targets: list[str], images: dict[str, list]) -> None:
    if opts.yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("no terminal to confirm on — pass --yes to delete without asking")
    names = ", ".join(s.plan.stacks[t].stack_name for t in targets)
    if not confirm(f"delete {names}?", "destroy"):
        raise Declined("not confirmed — nothing was deleted")
    count = sum(len(ids) for ids in images.values())
    if images and not confirm(f"--force: also delete all {count} image(s) in {', '.join(images)}?", "delete images"):
        raise Declined("images not confirmed for deletion — nothing was deleted")


def _images_left(s: Session, clients: runner.Clients) -> dict[str, list[dict[str, str]]]:
    repos = [repository_name(s.cfg.prefix, svc.name) for svc in s.cfg.services]
    return {repo: ids for repo in repos if (ids := storage.image_ids(clients.ecr, repo))}


def _images_message(s: Session, opts: Options, region: str, images: dict[str, list]) -> str:
    held = ", ".join(f"{repo} ({len(ids)} image(s))" for repo, ids in images.items())
    cmds = "; ".join(f"aws ecr batch-delete-image --region {region} --repository-name {repo} --image-ids "
                     f"\"$(aws ecr list-images --region {region} --repository-name {repo} --query imageIds "
                     "--output json)\"" for repo in images)
    stacks = " ".join(f"--stack {st}" for st in s.plan.stacks)
    return (f"the registry's repositories still hold images: {held}, and ECR refuses to delete a repository "
            f"that does — nothing was deleted. Empty them with: {cmds}; or let this tool do it: "
            f"python deploy.py --destroy {stacks} {opts.rerun} --force (asks again before deleting images)")


def _empty(s: Session, clients: runner.Clients, images: dict[str, list[dict[str, str]]]) -> None:
    for repo, ids in images.items():
        storage.delete_images(clients.ecr, repo, ids)
        s.report.stack("registry", f"--force: deleted {len(ids)} image(s) from {repo}")


def _kept(s: Session, clients: runner.Clients, targets: list[str]) -> list[str]:
    """What outlives the stacks, and why: the next deploy then knows what it finds."""
    lines = []
    bucket_path = f"/{s.cfg.prefix}/frontend/bucket-name"
    tag_paths = {svc.name: service_param(s.cfg.prefix, svc.name, IMAGE_TAG_KEY) for svc in s.cfg.services}
    found = storage.get_parameters(clients.ssm, [bucket_path, *tag_paths.values()])
    if "frontend" in targets and bucket_path in found:
        lines.append(f"  keeps the site bucket {found[bucket_path]} (retained on purpose: the site outlives its "
                     f"stack); remove it with: aws s3 rb s3://{found[bucket_path]} --force")
    for stack, bucket in _retained_buckets(s, clients, targets):
        if bucket != found.get(bucket_path):  # the site bucket is named above
            lines.append(f"  keeps the bucket {bucket} of {stack} (retained on purpose: CloudFormation cannot delete "
                         f"a bucket that holds objects); remove it with: aws s3 rb s3://{bucket} --force")
    tags = [f"{path}={found[path]}" for path in tag_paths.values() if path in found]
    if tags:
        why = ("written by --publish/--set-image-tag, not by a stack" if "registry" not in targets else
               "their images go with the registry's repositories: after redeploying the registry, publish each "
               "service again (python deploy.py --publish SERVICE) or --set-image-tag a tag you push")
        lines.append(f"  keeps the image-tag parameters {', '.join(tags)} ({why})")
    return lines


def _retained_buckets(s: Session, clients: runner.Clients, targets: list[str]) -> list[tuple[str, str]]:
    """Buckets a stack's template keeps on delete (DeletionPolicy Retain*), by the names they have now:
    read from the templates, so a new retained bucket is reported without a change here."""
    found = []
    for stack in targets:
        resources = json.loads(s.plan.stacks[stack].body).get("Resources", {})
        kept = [lid for lid, r in resources.items()
                if r.get("Type") == "AWS::S3::Bucket" and str(r.get("DeletionPolicy", "")).startswith("Retain")]
        if kept:
            ids = runner.physical_ids(clients.for_region(s.regions.get(stack)).cf, s.plan.stacks[stack].stack_name)
            found += [(stack, ids[lid]) for lid in kept if ids.get(lid)]
    return found


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
