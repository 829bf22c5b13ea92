"""The public-alb origin secret: created on the first deploy, rotated by `--rotate-origin-secret`.

The secret (`<prefix>/edge/origin-secret`, in the environment's region) holds JSON
{"current": ..., "previous": ...}. Two SSM String parameters hold version ids: the load balancer's
rules accept `current` and `previous` of the first, CloudFront sends `current` of the second
(generators/origin_secret.py). Templates never change; a rotation is new change sets:

1. put version N = {current: new, previous: the value CloudFront sends}; ALB version -> N;
   deploy the service stacks: the load balancer accepts the old and the new value;
2. CloudFront version -> N; deploy the frontend: CloudFront sends the new value;
3. put version N+1 = {current: new, previous: a random value nobody has}; ALB version -> N+1;
   deploy the service stacks: the old value is refused.

"The value CloudFront sends" is read from the deployed frontend stack (the version its
OriginSecretVersion parameter resolved to), never from the SSM parameter alone: a run stopped
between writing that parameter and deploying the frontend (Ctrl-C, a failed change set) leaves SSM
ahead of the distribution, and a rotation started from SSM would then lock CloudFront out.
Every state in between lets CloudFront through. A step that fails stops the command; running it
again resumes (the load balancer's version already holds a new value next to what CloudFront sends).
Values are generated here with `secrets` and never printed.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from typing import Any

from deployer.aws import runner, secret_store, storage
from deployer.commands import preflight
from deployer.commands.deploy import EXIT_OK, Options, all_stack_names, connect, deploy, prepare
from deployer.errors import UsageError
from deployer.presentation.report import Reporter
from generators.naming import edge_param, origin_secret_name
from generators.origin_secret import ALB_VERSION, CLOUDFRONT_VERSION, VERSION_PARAMETER, enabled


def paths(prefix: str) -> tuple[str, str]:
    """(the load balancer's version parameter, CloudFront's)."""
    return edge_param(prefix, ALB_VERSION), edge_param(prefix, CLOUDFRONT_VERSION)


def _value() -> str:
    return secrets.token_urlsafe(32)  # 256 bits, header-safe characters


def _new_version(clients: runner.Clients, cfg: Any, value: dict[str, str]) -> str:
    name, text = origin_secret_name(cfg.prefix), json.dumps(value)
    if secret_store.secret_exists(clients.secrets, name):
        return secret_store.put_secret_value(clients.secrets, name, text)
    return secret_store.create_secret(clients.secrets, name, text, f"{cfg.prefix}: header CloudFront sends to the load "
                                "balancer (edge = public-alb)", {"project": cfg.project, "environment": cfg.env.name})


def ensure(clients: runner.Clients, cfg: Any, report: Reporter) -> None:
    """Before the first public-alb change sets: a secret and both version parameters exist."""
    alb, cloudfront = paths(cfg.prefix)
    found = storage.get_parameters(clients.ssm, [alb, cloudfront])
    if alb in found and cloudfront in found:
        return
    # One missing: point it at the other's version (a new value there would lock CloudFront out).
    version = found.get(alb) or found.get(cloudfront) or _new_version(clients, cfg, {"current": _value(),
                                                                                     "previous": _value()})
    for path in (alb, cloudfront):
        if path not in found:
            storage.put_parameter(clients.ssm, path, version)
    report.line(f"origin secret: {origin_secret_name(cfg.prefix)} version {version} in use "
                "(the value is never printed; rotate with --rotate-origin-secret)")


def _readers(s: Any, path: str, deployed: set[str]) -> list[str]:
    return [st for st, reads in s.contract.reads.items() if path in reads.values() and st in deployed]


def _deployed_version(states: dict[str, Any], stacks: list[str], fallback: str) -> str:
    """The version id the first of `stacks` resolved at its last deploy (what it really uses)."""
    for st in stacks:
        used = runner.parameter_values(states[st]).get(VERSION_PARAMETER)
        if used:
            return used
    return fallback


def _start_or_resume(s: Any, clients: runner.Clients, sent: str, accepted: dict[str, str]) -> str:
    """The new value: the one in progress when the load balancer already takes it next to `sent`."""
    if accepted["current"] != sent and accepted.get("previous") == sent:
        s.report.line("origin secret rotation: resuming the one in progress (the load balancer already accepts it)")
        return accepted["current"]
    new = _value()
    alb, _ = paths(s.cfg.prefix)
    storage.put_parameter(clients.ssm, alb, _new_version(clients, s.cfg, {"current": new, "previous": sent}))
    return new


def rotate(opts: Options, confirm: Any, after_success: Any = None) -> int:
    s = prepare(opts, need_stacks=False)
    if not enabled(s.cfg):
        raise UsageError(f"environment {s.cfg.env.name} has edge = {s.cfg.env.edge.mode!r}: only \"public-alb\" "
                         "uses an origin secret, so there is nothing to rotate")
    clients = connect(s, opts)
    preflight.identity(clients, s.cfg)
    alb, cloudfront = paths(s.cfg.prefix)
    found = storage.get_parameters(clients.ssm, [alb, cloudfront])
    if alb not in found or cloudfront not in found:
        raise UsageError(f"no origin secret yet ({alb} or {cloudfront} missing) — the first deploy creates it: "
                         f"python deploy.py --stack all {opts.rerun}")
    states = preflight.stack_states(clients, all_stack_names(s), s.regions)
    deployed = {st for st, state in states.items() if state}
    services, frontend = _readers(s, alb, deployed), _readers(s, cloudfront, deployed)
    name, sent_version = origin_secret_name(s.cfg.prefix), _deployed_version(states, frontend, found[cloudfront])
    sent, accepted = (secret_store.secret_json(clients.secrets, name, v) for v in (sent_version, found[alb]))
    if sent is None or accepted is None:
        raise UsageError(f"{name} has no version {sent_version} or {found[alb]} — restore it, or delete both "
                         "parameters and deploy again to start over with a new secret")

    def step(n: int, what: str, stacks: list[str]) -> int:
        s.report.line(f"origin secret rotation, step {n} of 3: {what} ({', '.join(stacks) or 'no stack deployed'})")
        code = deploy(replace(opts, stacks=stacks), "deploy", confirm, after_success) if stacks else EXIT_OK
        if code != EXIT_OK:
            s.report.line(f"rotation stopped at step {n}; traffic still flows — rerun --rotate-origin-secret to go on")
        return code

    new = _start_or_resume(s, clients, sent["current"], accepted)
    if code := step(1, "the load balancer accepts the current and the new value", services):
        return code
    storage.put_parameter(clients.ssm, cloudfront, storage.get_parameters(clients.ssm, [alb])[alb])
    if code := step(2, "CloudFront sends the new value", frontend):
        return code
    storage.put_parameter(clients.ssm, alb, _new_version(clients, s.cfg, {"current": new, "previous": _value()}))
    return step(3, "the load balancer no longer accepts the old value", services)
