"""The day-two commands behind deploy.py: --logs, --releases, --rollback (issue 11).

Every input is checked before the first AWS call, so a bad one changes nothing and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ProfileNotFound

from deployer.aws import runner, storage
from deployer.commands import deploy as commands
from deployer.commands import logs, preflight, releases
from deployer.errors import UsageError
from deployer.presentation.report import Reporter, table, to_json
from generators.config import Config, load_config
from generators.naming import IMAGE_TAG_KEY, service_param

EXIT_OK, EXIT_DECLINED = 0, 4


def check_service(cfg: Config, name: str, flag: str) -> None:
    names = [s.name for s in cfg.services]
    if name in names:
        return
    if name == "frontend":
        raise UsageError(f"{flag} frontend: the frontend is a static site without containers, logs or image "
                         f"releases (expected a service: {', '.join(names)})")
    raise UsageError(f"{flag} {name}: no such service (expected one of: {', '.join(names)})")


def connect(cfg: Config, opts: commands.Options) -> runner.Clients:
    try:
        clients = runner.Clients(opts.region or cfg.env.region, opts.profile)
    except ProfileNotFound as exc:
        raise UsageError(f"{exc} — pick one from ~/.aws/config (aws configure list-profiles) or drop "
                         "--profile / AWS_PROFILE") from None
    preflight.identity(clients, cfg)
    return clients


def dispatch(args: argparse.Namespace, opts: commands.Options, confirm: Any, after: Any) -> int:
    cfg = load_config(opts.config, opts.env, opts.prefix)
    service = args.logs or args.releases or args.rollback
    flag = "--logs" if args.logs else "--releases" if args.releases else "--rollback"
    check_service(cfg, service, flag)
    if args.logs:
        logs.parse_since(args.since or logs.DEFAULT_SINCE, datetime.now(UTC))  # refused before any call
        from deployer.emulator.local import is_emulator_endpoint

        return logs.show_logs(connect(cfg, opts), cfg.prefix, service, args.since, args.follow, args.filter,
                              opts.output == "json", tail=not (opts.local or is_emulator_endpoint()))
    if args.releases:
        return show_releases(cfg, opts, service)
    return rollback(cfg, opts, service, args.to, confirm, after)


def show_releases(cfg: Config, opts: commands.Options, service: str) -> int:
    found = releases.load_releases(connect(cfg, opts), cfg.prefix, service)
    if opts.output == "json":
        print(to_json({"command": "releases", "service": service, "env": cfg.env.name,
                       "releases": [r.as_dict() for r in reversed(found)]}))
        return EXIT_OK
    if not found:
        print(f"{service}: no releases yet (publish one with python deploy.py --publish {service})")
        return EXIT_OK
    for line in table(["version", "tag", "when", "who", "image", ""], releases.release_rows(found)):
        print(line.rstrip())
    return EXIT_OK


def rollback(cfg: Config, opts: commands.Options, service: str, to: str | None, confirm: Any, after: Any) -> int:
    if not opts.yes and not sys.stdin.isatty():
        raise UsageError("no terminal to confirm on — pass --yes to roll back without asking")
    clients = connect(cfg, opts)
    found = releases.load_releases(clients, cfg.prefix, service)
    target = releases.choose_target(found, service, to)
    path, previous = service_param(cfg.prefix, service, IMAGE_TAG_KEY), found[-1].tag
    report = Reporter(opts.region or cfg.env.region, json_mode=opts.output == "json")
    report.line(f"rollback {service}: {previous} -> {target.tag} (release {target.version} of {target.when}); "
                f"writing {path}, then deploying {service}")
    if target.tag != previous:
        storage.put_parameter(clients.ssm, path, target.tag)
    try:
        code = commands.deploy(replace(opts, stacks=[service]), "deploy", confirm, after)
    except UsageError:  # refused before any change set ran (pre-flight, a stack busy)
        restore(clients, report, path, previous, target.tag)
        raise
    if code == EXIT_DECLINED:
        restore(clients, report, path, previous, target.tag)
    return code


def restore(clients: runner.Clients, report: Reporter, path: str, previous: str, written: str) -> None:
    """Nothing was deployed: the next deploy must not roll the earlier tag out unasked."""
    if written != previous:
        storage.put_parameter(clients.ssm, path, previous)
        report.warn(f"rollback not deployed: {path} is back at {previous}")
