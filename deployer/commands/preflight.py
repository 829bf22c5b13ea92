"""Checks that run before any change set: who we are, what state the stacks are in, and whether
every SSM parameter and image tag a selected stack reads is there. Each failure is one line that
says what to do; any failure stops the run with exit status 2 and nothing changed.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)

from deployer.aws import runner, secret_store, storage
from deployer.errors import UsageError
from deployer.planning.planner import Kind, Missing, Plan, classify, image_service, missing_parameters
from deployer.presentation.report import Reporter
from generators.config import Config
from generators.naming import REPOSITORY_URI_KEY, is_origin_secret_param, repository_name, service_param

Problems = list[str]


def identity(clients: runner.Clients, cfg: Config) -> str:
    """The caller's account; refuse when credentials do not resolve or the account is not the env's."""
    try:
        account = runner.caller_account(clients.probe)
    except (NoCredentialsError, PartialCredentialsError):
        raise UsageError("no AWS credentials found — set AWS_PROFILE or pass --profile, export "
                         "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or try the emulator with --local") from None
    except ProfileNotFound as exc:
        raise UsageError(f"{exc} — check --profile / AWS_PROFILE against ~/.aws/config") from None
    except ClientError as exc:
        raise UsageError(f"AWS rejected the credentials ({runner.error_message(exc)}) — "
                         "refresh them (aws sso login, new keys) and rerun") from None
    except runner.Unreachable as exc:
        raise UsageError(f"{exc} — check AWS_ENDPOINT_URL, --region and the network; nothing was changed") from None
    except BotoCoreError as exc:
        raise UsageError(f"cannot reach AWS: {exc} — check the network, region and AWS_ENDPOINT_URL") from None
    if cfg.env.account_id and account != cfg.env.account_id:
        raise UsageError(f"credentials are for account {account}, but environment {cfg.env.name} is account "
                         f"{cfg.env.account_id} — switch credentials (AWS_PROFILE/--profile) or pick another --env")
    return account


def stack_states(
    clients: runner.Clients, names: dict[str, str], regions: dict[str, str] | None = None
) -> dict[str, dict[str, Any] | None]:
    """`regions`: stacks that live outside the environment's region, asked there."""
    where = regions or {}
    return {stack: runner.describe_stack(clients.for_region(where.get(stack)).cf, name)
            for stack, name in names.items()}


def wait_for_others(
    clients: runner.Clients, states: dict[str, dict[str, Any] | None], report: Reporter, limit: int,
    regions: dict[str, str] | None = None,
) -> dict[str, dict[str, Any] | None]:
    """--wait: a stack someone else is changing is watched until it settles, then read again;
    never updated concurrently."""
    settled = dict(states)
    for stack, state in states.items():
        if state is not None and classify("stack", state["StackStatus"]) is Kind.PENDING:
            regional = clients.for_region((regions or {}).get(stack))
            _watch(regional, stack, state, report, limit)
            settled[stack] = runner.describe_stack(regional.cf, state["StackName"])  # None after a delete
    return settled


def _watch(clients: runner.Clients, stack: str, state: dict[str, Any], report: Reporter, limit: int) -> None:
    """The same polling, event stream and progress line as for our own deployments."""
    report.stack(stack, f"is {state['StackStatus']}: another deployment is running — waiting for it (--wait)")

    def show(batch: list[dict[str, Any]]) -> None:
        for event in batch:
            report.event(stack, event)
        report.progress(stack, batch)

    seen = {e["EventId"] for e in runner.new_events(clients.cf, state["StackId"], set())}
    report.track(stack, state["StackStatus"])
    try:
        final = runner.wait_stack(clients.cf, state["StackId"], show, seen, limit=limit)
    except runner.StillBusy as busy:
        raise UsageError(f"{state['StackName']} is still {busy} after {limit} s (--wait {limit}) — nothing was "
                         "changed; rerun later or with a longer --wait") from None
    finally:
        report.untrack(stack)
    report.stack(stack, f"settled: {final['StackStatus']}")


def state_problems(states: dict[str, dict[str, Any] | None], region: str) -> Problems:
    problems: Problems = []
    for state in states.values():
        if state is None:
            continue
        status, name = state["StackStatus"], state["StackName"]
        where = stack_region(state, region)
        kind = classify("stack", status)
        if kind is Kind.PENDING:
            problems.append(f"{name} is {status}: another deployment is running — wait for it to finish, then "
                            "rerun (or pass --wait)")
        elif status == "UPDATE_ROLLBACK_FAILED":
            problems.append(f"{name} is UPDATE_ROLLBACK_FAILED — fix the cause shown in its events, then run: "
                            f"aws cloudformation continue-update-rollback --stack-name {name} --region {where}")
        elif kind is Kind.STUCK:
            problems.append(f"{name} is {status} — see its events in the console, fix the cause, "
                            "then delete it (python deploy.py --destroy) or retry")
    return problems


def stack_region(state: dict[str, Any], default: str) -> str:
    """The region in a stack's ARN (arn:aws:cloudformation:<region>:...): edge's is not the environment's."""
    parts = str(state.get("StackId", "")).split(":")
    return parts[3] if len(parts) > 3 and parts[3] else default


def parameter_problems(clients: runner.Clients, cfg: Config, plan: Plan, emulated_images: bool,
                       rerun: str = "", existing: dict[str, str] | None = None,
                       created_here: frozenset[str] = frozenset()) -> Problems:
    """Missing SSM parameters (by the stack that writes them) and image tags absent from ECR.
    `existing`: the parameters already read (path -> value), to save the calls; `created_here`:
    paths this run writes itself before the first change set (the origin-secret versions)."""
    paths = {p for sp in plan.stacks.values() for p in sp.reads.values()}
    existing = existing if existing is not None else storage.get_parameters(clients.ssm, paths)
    image_paths = {p for sp in plan.stacks.values() for p in sp.image_tag_reads.values()}
    provided = (image_paths if emulated_images else set()) | created_here
    rerun = rerun or f"--env {cfg.env.name}"
    problems = [_missing_line(m, rerun) for m in missing_parameters(plan, set(existing), provided)]
    for path in sorted(image_paths & set(existing)):
        service = image_service(path)
        repo, tag = repository_name(cfg.prefix, service), existing[path]
        if emulated_images and plan.contract.writer.get(service_param(cfg.prefix, service, REPOSITORY_URI_KEY)) \
                in plan.stacks:
            continue  # the emulator registers a placeholder image once that stack has made the repository
        if not storage.image_exists(clients.ecr, repo, tag):
            problems.append(f"image tag {tag!r} (from {path}) is not in ECR repository {repo} (deleted with an "
                            f"earlier registry?) — push it with python deploy.py --publish {service} {rerun}, "
                            "or set an existing tag with --set-image-tag")
    return problems


def _missing_line(m: Missing, rerun: str) -> str:
    if m.writer is None and is_origin_secret_param(m.path):  # --execute: a plan never creates it
        return (f"{m.reader} reads {m.path}, which does not exist — the origin secret is made by a deploy "
                f"(never by --plan): python deploy.py --stack {m.reader} {rerun}")
    if m.writer is None:
        service = image_service(m.path)
        return (f"{m.reader} reads {m.path}, which does not exist — publish an image first: "
                f"python deploy.py --publish {service} {rerun} (or --set-image-tag {service}=TAG)")
    # A deployed writer whose parameter was deleted reports "no changes"; its deploy restores the
    # parameter anyway (converge.py), so this advice never sends anyone in a loop.
    return (f"{m.reader} reads {m.path}, which does not exist; stack {m.writer} writes it — "
            f"deploy {m.writer} first (that also restores a deleted parameter): "
            f"python deploy.py --stack {m.writer} {rerun}")


def fail_on(problems: Problems) -> None:
    if problems:
        raise UsageError("pre-flight failed:\n  " + "\n  ".join(problems))


def secret_problems(clients: runner.Clients, cfg: Config, plan: Plan) -> Problems:
    """Each `secrets` reference of the services being deployed must exist: ECS would otherwise fail
    every task start with ResourceInitializationError, long after the change set succeeded."""
    wanted = [(svc.name, s) for svc in cfg.services if svc.name in plan.stacks for s in svc.secrets]
    if not wanted:
        return []
    missing_params = set(storage.missing_parameters(clients.ssm, [s.target for _, s in wanted if s.is_ssm]))
    problems = []
    for service, s in wanted:
        if s.is_ssm and s.target in missing_params:
            problems.append(f"{service}: secret {s.name} reads SSM parameter {s.target}, which does not exist — create "
                            f"it (aws ssm put-parameter --type SecureString --name {s.target} ...) or fix "
                            f"secrets.{s.name} in {cfg.source.name}")
        elif not s.is_ssm and not secret_store.secret_exists(clients.extra("secretsmanager"), s.target):
            problems.append(f"{service}: secret {s.name} reads Secrets Manager secret {s.target}, which does not "
                            f"exist in this account and region — create it or fix secrets.{s.name} in "
                            f"{cfg.source.name}")
    return problems
