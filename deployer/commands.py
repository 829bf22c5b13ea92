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

from generators.config import Config, load_config
from generators.contract import Contract, ContractError, build_contract
from generators.naming import FOUNDATION_STACKS, service_param, stack_name
from generators.synth import stack_regions, synth

from . import preflight, regions, runner
from .actions import Context, StackResult, deploy_stack, timestamp
from .errors import UsageError
from .executor import run_batches
from .planner import Naming, Plan, StackPlan, change_set_name_problem, make_plan, naming, select_stacks, stack_tags
from .report import Reporter, result_dict, summary, to_json

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REVIEW = 0, 1, 2, 3


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
    wait: bool = False  # wait for a stack someone else is changing, instead of refusing


@dataclass
class Session:
    cfg: Config
    plan: Plan
    contract: Contract
    report: Reporter
    clients: runner.Clients | None = None
    regions: dict[str, str] = field(default_factory=dict)  # stacks outside the environment's region


def prepare(opts: Options, need_stacks: bool = True) -> Session:
    """Load the configuration, regenerate the templates, and plan the selected stacks."""
    cfg = load_config(opts.config, opts.env, opts.prefix)
    report = Reporter(opts.region or cfg.env.region, json_mode=opts.output == "json")
    result = synth(cfg)
    for path in result.changed:
        report.warn(f"regenerated {path.name} in {result.directory}: it differed from the file on disk "
                    "(review and commit it)")
    files = {p.stem: p for p in sorted(result.changed + result.unchanged)}
    bodies = {s: p.read_text(encoding="utf-8") for s, p in files.items()}
    try:
        contract = build_contract({s: json.loads(b) for s, b in bodies.items()})
    except ContractError as exc:
        raise UsageError(f"templates disagree on SSM parameters: {exc} — fix the generators") from None
    selected, unknown = select_stacks(opts.stacks, list(files))
    if unknown:
        raise UsageError(f"unknown stack {', '.join(unknown)} — choose from: all, {', '.join(files)}")
    if need_stacks and not selected:
        raise UsageError(f"no stack selected — pass --stack NAME (one of: all, {', '.join(files)})")
    where = stack_regions(cfg, opts.region)
    return Session(cfg, make_plan(contract, cfg.prefix, selected, files, bodies, where), contract, report,
                   regions=where)


def connect(s: Session, opts: Options) -> runner.Clients:
    s.clients = runner.Clients(opts.region or s.cfg.env.region, opts.profile)
    return s.clients


def show_plan(s: Session, what: str) -> None:
    r = s.report
    r.line(f"{what}: env {s.cfg.env.name}, prefix {s.cfg.prefix}, region {r.region}")
    for i, batch in enumerate(s.plan.batches, 1):
        r.line(f"  batch {i}: {', '.join(batch)}" + ("  (in parallel)" if len(batch) > 1 else ""))


def deploy(opts: Options, mode: str, confirm: Any, after_success: Any = None) -> int:
    """mode: deploy | plan | execute."""
    names = _naming(opts)
    s = prepare(opts)
    if mode != "plan" and not opts.yes and not sys.stdin.isatty():
        raise UsageError("no terminal to confirm on — pass --yes to execute change sets without asking")
    clients = connect(s, opts)
    show_plan(s, {"deploy": "deploy", "plan": "plan (change sets kept for review)", "execute": "execute"}[mode])
    account, states = _preflight(s, clients, opts)
    buckets = {r: f"{s.cfg.prefix}-cfn-{account}-{r}"[:63] for r in {clients.region, *s.regions.values()}}
    ctx = Context(
        clients, s.report, naming=names,
        tags={st: _tags(s, sp) for st, sp in s.plan.stacks.items()}, keep_change_sets=mode == "plan", confirm=confirm,
        artifacts_bucket=buckets[clients.region], buckets=buckets, protect=frozenset(FOUNDATION_STACKS),
    )

    def succeeded(stack: str) -> None:
        regions.after_deploy(clients, s, stack)  # an out-of-region stack's parameters, copied home
        if after_success:
            after_success(clients, s, stack)

    ctx.after_success = succeeded
    if mode == "execute":
        from .planned import execute_planned
        results = execute_planned(ctx, s.plan, states, lambda: interrupt(ctx, s))
    else:
        results = _run(ctx, s, states)
    return finish(s, opts, results, mode)


def _preflight(s: Session, clients: runner.Clients, opts: Options) -> tuple[str, dict[str, Any]]:
    """(account, stack states), or UsageError with every problem; then the public-alb origin secret."""
    from . import origin_secret  # it imports this module: loaded here, not at the top

    account = preflight.identity(clients, s.cfg)
    states = preflight.stack_states(clients, {k: v.stack_name for k, v in s.plan.stacks.items()}, s.regions)
    if opts.wait:
        states = preflight.wait_for_others(clients, states, s.report, s.regions)
    secret_paths = frozenset(origin_secret.paths(s.cfg.prefix)) if origin_secret.enabled(s.cfg) else frozenset()
    problems = preflight.state_problems(states, clients.region)
    problems += preflight.parameter_problems(clients, s.cfg, s.plan, emulated_images=opts.local,
                                             created_here=secret_paths)
    preflight.fail_on(problems)
    if secret_paths:  # created only once nothing else stands in the way
        origin_secret.ensure(clients, s.cfg, s.report)
    return account, states


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


def _run(ctx: Context, s: Session, states: dict[str, Any]) -> dict[str, StackResult]:
    def work(stack: str) -> StackResult:
        return deploy_stack(ctx, s.plan.stacks[stack], states[stack])

    def skipped(stack: str) -> StackResult:
        return StackResult(stack, s.plan.stacks[stack].stack_name, status="skipped",
                           reason="not started: an earlier stack failed")

    return run_batches(s.plan.batches, work, skipped, lambda: interrupt(ctx, s))


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
            refused = runner.cancel_update(ctx.cf(region_by_name.get(name, "")), name)
            s.report.line(f"  {name}: " + (f"cancel refused: {refused}" if refused else "cancel-update-stack sent"))


def finish(s: Session, opts: Options, results: dict[str, StackResult], mode: str) -> int:
    ordered = [results[st] for st in s.plan.order if st in results]
    for line in summary(ordered):
        s.report.line(line)
    code = exit_code(ordered)
    if any(r.status == "interrupted" for r in ordered):
        _states_after_interrupt(s, ordered)
    urls = service_urls(s) if code == EXIT_OK and mode in ("deploy", "execute") and results else {}
    for name, url in urls.items():
        s.report.line(f"  {name:<22} {url}")
    if opts.output == "json":
        print(to_json({"command": mode, "env": s.cfg.env.name, "prefix": s.cfg.prefix, "region": s.report.region,
                       "batches": s.plan.batches, "stacks": [result_dict(r) for r in ordered],
                       "urls": urls, "exit_code": code}))
    return code


def exit_code(results: list[StackResult]) -> int:
    if any(not r.ok for r in results):
        return EXIT_FAILED
    if any(r.status == "planned" for r in results):
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
    found = runner.get_parameters(s.clients.ssm, [front_path])
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
