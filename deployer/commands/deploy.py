"""The AWS-facing commands behind deploy.py: deploy (plain, --plan, --execute), --destroy, --status.

Each returns the exit status. Imported lazily by deploy.py, so boto3 never loads for --synth.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ProfileNotFound

from deployer.aws import runner, storage
from deployer.commands import ci_role, converge, orphans, plan_only, preflight, regions
from deployer.commands.actions import Context, StackResult, timestamp
from deployer.commands.artifacts import prepare_buckets
from deployer.commands.batch import run_batch
from deployer.errors import UsageError
from deployer.planning.executor import run_grouped
from deployer.planning.planner import (
    UPDATABLE,
    Naming,
    Plan,
    StackPlan,
    change_set_name_problem,
    classify,
    make_plan,
    naming,
    select_stacks,
    stack_tags,
)
from deployer.presentation.report import Reporter, result_dict, summary, to_json
from generators.config import Config, load_config
from generators.contract import Contract, ContractError, build_contract
from generators.naming import (
    EXPLICIT_STACKS,
    FOUNDATION_STACKS,
    is_origin_secret_param,
    service_param,
    stack_name,
)
from generators.template_files import committed

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REVIEW, EXIT_DECLINED = 0, 1, 2, 3, 4


@dataclass
class Options:
    config: Path
    env: str = "dev"
    prefix: str | None = None
    stacks: list[str] = field(default_factory=list)
    region: str | None = None
    profile: str | None = None
    yes: bool = False
    output: str = "text"
    local: bool = False
    change_set_name: str | None = None
    wait: int | None = None  # seconds to wait for a stack someone else is changing (None: refuse)
    force: bool = False  # --destroy: empty the registry's repositories first
    rerun: str = "--env dev"  # the flags that chose the target, for commands printed to the user


@dataclass
class Session:
    cfg: Config
    plan: Plan
    contract: Contract
    report: Reporter
    clients: runner.Clients | None = None
    regions: dict[str, str] = field(default_factory=dict)  # stacks outside the environment's region


def prepare(opts: Options, need_stacks: bool = True, write: bool = False) -> Session:
    """Load the configuration, generate the templates (write=True: also to disk, for the commands
    that deploy them), and plan the selected stacks. Read-only commands write nothing."""
    from generators.synth import stack_regions, synth  # the generators, troposphere: not for --status

    cfg = load_config(opts.config, opts.env, opts.prefix)
    report = Reporter(opts.region or cfg.env.region, json_mode=opts.output == "json")
    report.emulated = opts.local
    result = synth(cfg, check=not write)
    for path in result.changed if committed(cfg) else []:  # build/ holds no reviewed file to warn about
        report.warn(f"regenerated {path.name} in {result.directory}: it differed from the file on disk "
                    "(review and commit it)" if write else
                    f"{path.name} in {result.directory} differs from what the configuration generates; using "
                    "the generated one without writing it (run --synth to update the file)")
    files = {p.stem: p for p in sorted(result.changed + result.unchanged)}
    bodies = {s: result.texts[p] for s, p in files.items()}
    try:
        contract = build_contract({s: json.loads(b) for s, b in bodies.items()})
    except ContractError as exc:
        raise UsageError(f"templates disagree on SSM parameters: {exc} — fix the generators") from None
    selected, unknown = select_stacks(opts.stacks, list(files))
    if unknown:
        raise UsageError(f"unknown stack {', '.join(unknown)} — choose from: all, {', '.join(files)}")
    if need_stacks and not selected:
        raise UsageError(f"no stack selected — pass --stack NAME (one of: all, {', '.join(files)})")
    where = stack_regions(cfg, opts.region)  # edge: us-east-1 whatever the environment's region
    return Session(cfg, make_plan(contract, cfg.prefix, selected, files, bodies, where), contract, report,
                   regions=where)


def connect(s: Session, opts: Options) -> runner.Clients:
    try:
        s.clients = runner.Clients(opts.region or s.cfg.env.region, opts.profile)
    except ProfileNotFound as exc:
        raise UsageError(f"{exc} — pick one from ~/.aws/config (aws configure list-profiles) or drop "
                         "--profile / AWS_PROFILE") from None
    return s.clients


def show_plan(s: Session, what: str) -> None:
    r = s.report
    r.line(f"{what}: env {s.cfg.env.name}, prefix {s.cfg.prefix}, region {r.region}")
    for i, batch in enumerate(s.plan.batches, 1):
        r.line(f"  batch {i}: {', '.join(batch)}" + ("  (in parallel)" if len(batch) > 1 else ""))


def deploy(opts: Options, mode: str, confirm: Any, after_success: Any = None) -> int:
    """mode: deploy | plan | execute."""
    names = _naming(opts)
    s = prepare(opts, write=mode != "plan")
    if mode != "plan" and not opts.yes and not sys.stdin.isatty():
        raise UsageError("no terminal to confirm on — pass --yes to execute change sets without asking")
    clients = connect(s, opts)
    show_plan(s, {"deploy": "deploy", "plan": "plan (change sets kept for review)", "execute": "execute"}[mode])
    account = preflight.identity(clients, s.cfg)
    states = preflight.stack_states(clients, {k: v.stack_name for k, v in s.plan.stacks.items()}, s.regions)
    if opts.wait is not None:
        states = preflight.wait_for_others(clients, states, s.report, opts.wait, s.regions)
    problems = preflight.state_problems(states, clients.region)
    problems += orphans.removal_problems(clients, s.cfg.prefix, s.plan, states, clients.region)
    # One read for what the stacks read and what the deployed ones write (converge restores those).
    # Only stacks that stay (not recreated): their state now is the one the checks after them judge by.
    kept = {st: state for st, state in states.items()
            if state and classify("stack", state["StackStatus"]) in UPDATABLE}
    # An out-of-region stack's parameters are checked by regions.after_deploy, which copies them home.
    written = {p for p, w in s.contract.writer.items() if w in s.plan.stacks and w in kept and w not in s.regions}
    reads = {p for sp in s.plan.stacks.values() for p in sp.reads.values()}
    known = storage.get_parameters(clients.ssm, written | reads)
    # A plan writes nothing (plan_only.py): a stack reading a parameter that does not exist is not planned.
    not_planned = plan_only.gaps(s.plan, set(known), opts.rerun) if mode == "plan" else {}
    plan = plan_only.without(s.plan, set(not_planned))
    secret_paths = origin_secret_paths(s) if mode == "deploy" else frozenset()  # made by a deploy only
    problems += preflight.parameter_problems(clients, s.cfg, plan, emulated_images=opts.local and mode != "plan",
                                             rerun=opts.rerun, existing=known, created_here=secret_paths)
    problems += preflight.secret_problems(clients, s.cfg, plan)
    preflight.fail_on(problems)
    buckets = prepare_buckets(clients, plan.stacks.values(), s.cfg.prefix, account, s.report, create=mode != "plan")
    if secret_paths:  # created only once nothing else stands in the way
        from deployer.commands import origin_secret  # it imports this module: loaded here, not at the top
        origin_secret.ensure(clients, s.cfg, s.report)
    role_arn = ci_role.cloudformation_role(clients, s.cfg.prefix) if mode != "plan" else None
    if role_arn:
        s.report.line(f"CloudFormation acts through the ci stack's role {role_arn}")
    ctx = Context(
        clients, s.report, naming=names, role_arn=role_arn,
        tags={st: _tags(s, sp) for st, sp in s.plan.stacks.items()}, keep_change_sets=mode == "plan", confirm=confirm,
        artifacts_owner=account, buckets=buckets,
        protect=frozenset(FOUNDATION_STACKS), regions=s.regions,
    )
    missing = sorted(written - set(known))
    if mode != "plan":  # converging writes (parameters, protection, placeholder images): never in a plan
        ctx.after_success = lambda stack: _after(s, stack, kept.get(stack), missing, after_success)
    if mode == "execute":
        from deployer.commands.planned import execute_planned
        results = execute_planned(ctx, s.plan, states, lambda: interrupt(ctx, s))
    else:
        results = {**plan_only.results(s.plan, not_planned, s.report), **_run(ctx, s, states, plan)}
    code = finish(s, opts, results, mode)
    return _alarm_verdict(s, results, code) if mode != "plan" else code


def _alarm_verdict(s: Session, results: dict[str, StackResult], code: int) -> int:
    """A service whose rollout an alarm rolled back fails the deploy, naming the alarm (rollout.py)."""
    from deployer.commands.rollout import after_deploy

    services = {sv.name for sv in s.cfg.services}
    executed = {st: r.stack_name for st, r in results.items() if st in services and r.executed}
    if not executed or s.clients is None:
        return code
    code, problems = after_deploy(s.clients, s.cfg, executed, code)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    return code


def _after(s: Session, stack: str, before: dict[str, Any] | None, missing: list[str], extra: Any) -> None:
    """After each stack that deployed or had no changes: converge what a change set cannot see."""
    assert s.clients is not None
    own = [p for p in missing if s.contract.writer.get(p) == stack]
    sp = s.plan.stacks[stack]
    converge.after_stack(s.clients.for_region(sp.region), s.report, sp, before, own, stack in FOUNDATION_STACKS)
    regions.after_deploy(s.clients, s, stack)  # an out-of-region stack's parameters, copied home
    if extra:
        extra(s.clients, s, stack)


def origin_secret_paths(s: Session) -> frozenset[str]:
    """public-alb: the version parameters deploy.py writes itself before the first change set."""
    return frozenset(p for sp in s.plan.stacks.values() for p in sp.reads.values() if is_origin_secret_param(p))


def _naming(opts: Options) -> Naming:
    names = naming(opts.change_set_name, os.environ, timestamp())
    problem = change_set_name_problem(names.name)
    if problem and names.run is not None:
        raise UsageError(f"GITHUB_RUN_ID gives the change set name {names.name!r}, which CloudFormation rejects "
                         "— pass --change-set-name NAME")
    if problem:
        raise UsageError(problem)
    return names


def _tags(s: Session, sp: StackPlan) -> dict[str, str]:
    return stack_tags(s.cfg.project, s.cfg.env.name, sp.stack)


def _run(ctx: Context, s: Session, states: dict[str, Any], plan: Plan) -> dict[str, StackResult]:
    def skipped(stack: str) -> StackResult:
        return StackResult(stack, plan.stacks[stack].stack_name, status="skipped",
                           reason="not started: an earlier stack failed or was declined")

    return run_grouped(plan.batches,
                       lambda batch: run_batch(ctx, plan.stacks, batch, states, lambda: interrupt(ctx, s)), skipped)


def interrupt(ctx: Context, s: Session) -> None:
    """Ctrl-C: cancel updates in flight (a create cannot be cancelled, only rolled back by AWS)."""
    if ctx.cancelled.is_set():
        raise KeyboardInterrupt
    ctx.cancelled.set()
    s.report.line("interrupted: cancelling updates in progress (Ctrl-C again to stop waiting)")
    assert s.clients is not None
    region_by_name = {sp.stack_name: sp.region for sp in s.plan.stacks.values()}
    for name, action in list(ctx.executing.items()):
        if action == "update":
            refused = runner.cancel_update(s.clients.for_region(region_by_name.get(name)).cf, name)
            s.report.line(f"  {name}: " + (f"cancel refused: {refused}" if refused else "cancel-update-stack sent"))


def finish(s: Session, opts: Options, results: dict[str, StackResult], mode: str) -> int:
    ordered = [results[st] for st in s.plan.order if st in results]
    for line in summary(ordered):
        s.report.line(line)
    code = exit_code(ordered)
    if any(r.status == "interrupted" for r in ordered):
        _states_after_interrupt(s, ordered)
    urls = service_urls(s) if code == EXIT_OK and mode in ("deploy", "execute") and results else {}
    if urls and s.report.emulated:  # the names exist in the emulator, but nothing answers at them
        s.report.line("  no URLs to try: the emulator serves no traffic (deploy to AWS for a reachable endpoint)")
        urls = {}
    for name, url in urls.items():
        s.report.line(f"  {name:<22} {url}")
    if code == EXIT_OK and mode in ("deploy", "execute") and set(results) & set(EXPLICIT_STACKS):
        from deployer.commands.ci_stack import role_lines

        assert s.clients is not None
        for line in role_lines(s.clients, s.cfg.prefix, s.cfg.env.name):
            s.report.line(line)
    if opts.output == "json":
        print(to_json({"command": mode, "env": s.cfg.env.name, "prefix": s.cfg.prefix, "region": s.report.region,
                       "batches": s.plan.batches, "stacks": [result_dict(r) for r in ordered],
                       "urls": urls, "exit_code": code}))
    return code


def exit_code(results: list[StackResult]) -> int:
    if any(not r.ok and r.status not in ("declined", "skipped") for r in results):
        return EXIT_FAILED
    if any(r.status == "declined" for r in results):
        return EXIT_DECLINED
    if any(r.status in ("planned", "not planned") for r in results):  # waiting for a review, or for a deploy
        return EXIT_REVIEW
    return EXIT_OK


def _states_after_interrupt(s: Session, results: list[StackResult]) -> None:
    assert s.clients is not None
    s.report.line("state after Ctrl-C (rerun the same command to converge):")
    for r in results:
        state = runner.describe_stack(s.clients.for_region(s.regions.get(r.stack)).cf, r.stack_name)
        s.report.line(f"  {r.stack_name:<30} {state['StackStatus'] if state else 'absent'}")


def service_urls(s: Session) -> dict[str, str]:
    """The URLs users need, all through CloudFront: the load balancer admits nothing else (issue 8)."""
    assert s.clients is not None
    front_path = service_param(s.cfg.prefix, "frontend", "url")
    found = storage.get_parameters(s.clients.ssm, [front_path])
    if front_path not in found:
        return {}
    base = found[front_path]
    urls = {"frontend": base}
    for svc in s.cfg.services:
        urls[f"{svc.name} health"] = base + svc.health_check_path
    urls.update({f"{svc.name} routes": base + svc.path_patterns[0].rstrip("*") for svc in s.cfg.services})
    return urls


def all_stack_names(s: Session) -> dict[str, str]:
    return {st: stack_name(s.cfg.prefix, st) for st in s.contract.reads}
