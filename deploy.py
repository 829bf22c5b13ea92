#!/usr/bin/env python3
"""Generate and deploy the platform's CloudFormation stacks through reviewable change sets.

  python deploy.py --synth [--check]               write (or check) templates/<env>/*.json
  python deploy.py --stack all [--yes]             deploy every stack in dependency order
  python deploy.py --stack app-api --plan          create change sets and stop (review them)
  python deploy.py --stack app-api --execute       execute the change sets --plan created
  python deploy.py ... --change-set-name NAME      pair a --plan and an --execute by name
  python deploy.py --stack all --wait              wait for stacks someone else is changing
  python deploy.py --local --stack all --yes       the same against an embedded AWS emulator
  python deploy.py --status | --graph | --cost     inspect
  python deploy.py --destroy --stack app-api       delete stacks in reverse order
  python deploy.py --publish app-api [--tag T]     build, push, write /<prefix>/app-api/image-tag
                                                   (clean git tree only, unless --allow-dirty)
  python deploy.py --stack ci --env E --yes        the pipelines' roles (never part of `all`)
  python deploy.py --set-image-tag app-api=T       point the service at a tag already in ECR
  python deploy.py --rotate-origin-secret          edge = public-alb: new origin secret, in three deploys
  python deploy.py --publish frontend [--site DIR] upload the site, invalidate CloudFront
  python deploy.py --local-serve | --local-stop      keep an emulator running for later --local runs
  python deploy.py --logs app-api [--since 15m] [--follow] [--filter P]   read a service's logs
  python deploy.py --status --watch                 live rollout state, refreshed until settled
  python deploy.py --releases app-api               image-tag history (the release history)
  python deploy.py --rollback app-api [--to TAG|V]  previous (or named) release, deployed by change set
  python deploy.py --wake app-api                  start a service its schedule keeps asleep, now

Exit status: 0 done or nothing to change, 1 a deployment failed (or stdout closed early),
2 bad usage, configuration or pre-flight check (nothing changed), 3 change sets created and
waiting for review, 4 a confirmation was declined (nothing was changed by that answer).
Ctrl-C ends `--status --watch` and `--logs --follow` with 0 (the way to stop watching).

Change sets are shown property by property (before -> after, replacements and SSM values
re-read marked); each batch's change sets are shown first, then confirmed with one question
(`[y/N/s]`, s = choose per stack; --yes skips it).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from deployer.planning.usage import config_file, endpoint_problem, misplaced_flag, rerun_flags
from generators.config import DEFAULT_CONFIG, ConfigError, load_config

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REVIEW, EXIT_DECLINED = 0, 1, 2, 3, 4
DEFAULT_WAIT = 3600  # seconds a bare --wait waits for another deployment


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, like every other usage error (argparse would print the whole usage first).
        print(f"error: {message} — see python deploy.py --help", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = Parser(prog="deploy.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=config_file, help="configuration file (default: platform.toml)")
    p.add_argument("--env", help="environment from the configuration (default: dev)")
    p.add_argument("--prefix", help="override the environment's project prefix (templates go to build/)")
    p.add_argument("--stack", action="append", default=[], metavar="NAME",
                   help="stack to act on, repeatable; `all` for every stack")
    p.add_argument("--region", help="AWS region (default: the environment's)")
    p.add_argument("--profile", help="AWS profile (default: AWS_PROFILE / the default chain)")
    p.add_argument("--yes", "-y", action="store_true", help="execute/delete without asking")
    p.add_argument("--local", action="store_true", help="run against an embedded AWS emulator (moto)")
    p.add_argument("--output", choices=("text", "json"), help="json: one document on stdout (default: text)")
    p.add_argument("--check", action="store_true", help="with --synth: write nothing, exit 1 if stale")
    p.add_argument("--tag", help="with --publish: image tag (default: short git SHA of a clean tree)")
    p.add_argument("--allow-dirty", action="store_true",
                   help="with --publish SERVICE: publish from a tree with uncommitted changes (default: refuse)")
    p.add_argument("--docker", help="with --publish: docker command (default: $PLATFORM_DOCKER or docker)")
    p.add_argument("--wait", nargs="?", const=DEFAULT_WAIT, type=seconds, metavar="SECONDS",
                   help="a stack another deployment is changing: wait for it to settle (at most SECONDS, "
                        f"default {DEFAULT_WAIT}), then go on (default: refuse)")
    p.add_argument("--force", action="store_true",
                   help="with --destroy: empty the registry's repositories first (asks a second time)")
    p.add_argument("--site", type=Path, metavar="DIR",
                   help="with --publish frontend: site sources (default: services/frontend/src)")
    p.add_argument("--change-set-name", type=change_set_name, metavar="NAME",
                   help="name the --plan change sets, and --execute only those (default: deploy-py-<time>, "
                        "or deploy-py-run-<run id>-<attempt> in GitHub Actions; --execute: newest deploy-py-*)")
    p.add_argument("--since", metavar="WHEN", help="with --logs: 15m, 2h, 1d or an ISO time (default: 15m)")
    p.add_argument("--follow", action="store_true", help="with --logs: keep printing new events (live tail)")
    p.add_argument("--filter", metavar="PATTERN", help="with --logs: CloudWatch Logs filter pattern")
    p.add_argument("--watch", action="store_true", help="with --status: refresh in place until rollouts settle")
    p.add_argument("--to", metavar="TAG|VERSION", help="with --rollback: the release to go back to")
    act = p.add_mutually_exclusive_group()
    act.add_argument("--synth", action="store_true", help="write every template under templates/<env>/")
    act.add_argument("--plan", action="store_true", help="create change sets, show them, keep them for review")
    act.add_argument("--execute", action="store_true", help="execute the change sets a --plan created")
    act.add_argument("--destroy", action="store_true", help="delete the selected stacks, reverse order")
    act.add_argument("--status", action="store_true", help="status, last update and image tags per stack")
    act.add_argument("--graph", action="store_true", help="print the stacks and SSM links as Mermaid")
    act.add_argument("--cost", action="store_true", help="estimated idle monthly cost per stack")
    act.add_argument("--publish", metavar="SERVICE", help="build and push SERVICE's image, or upload `frontend`")
    act.add_argument("--set-image-tag", metavar="SERVICE=TAG", help="write a tag already in ECR to SSM")
    act.add_argument("--rotate-origin-secret", action="store_true",
                     help="edge = public-alb: new origin secret; the ALB accepts old and new, CloudFront moves, "
                          "the old is dropped (each step a normal deploy)")
    act.add_argument("--logs", metavar="SERVICE", help="a service's CloudWatch log events, newest last")
    act.add_argument("--releases", metavar="SERVICE", help="a service's releases (its image-tag history)")
    act.add_argument("--rollback", metavar="SERVICE", help="point SERVICE back at an earlier release and deploy it")
    act.add_argument("--wake", metavar="SERVICE",
                     help="start a service now that its schedule keeps at zero (until the schedule's next sleep)")
    act.add_argument("--local-serve", action="store_true",
                     help="start the emulator in the background; later --local runs use it and keep its state")
    act.add_argument("--local-stop", action="store_true", help="stop the emulator --local-serve started")
    args = p.parse_args(argv)
    problem = misplaced_flag(args)
    if problem:
        p.error(problem)
    args.rerun = rerun_flags(args)
    args.env, args.output = args.env or "dev", args.output or "text"
    args.config = args.config or DEFAULT_CONFIG
    return args


def seconds(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds (expected e.g. --wait 600)")
    return int(value)


def change_set_name(value: str) -> str:
    from deployer.planning.planner import change_set_name_problem  # pure: no AWS SDK on this path

    problem = change_set_name_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def cmd_synth(args: argparse.Namespace) -> int:
    from generators.auth import auth_warning
    from generators.synth import synth  # troposphere only; boto3 stays off this path

    cfg = load_config(args.config, args.env, args.prefix)
    if warning := auth_warning(cfg):
        print(warning, file=sys.stderr)
    result = synth(cfg, check=args.check)
    for path in result.changed:
        shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
        print(f"{'stale' if args.check else 'wrote'}   {shown}")
    for path in result.removed:
        print(f"{'stale' if args.check else 'removed'} {path}")
    if args.check and result.stale:
        print(f"templates are stale: run `python deploy.py --synth --env {args.env}` and commit the result",
              file=sys.stderr)
        return EXIT_FAILED
    if not result.stale:
        print(f"templates up to date in {result.directory}")
    return EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    import json

    from generators.contract import build_contract
    from generators.synth import render

    cfg = load_config(args.config, args.env, args.prefix)
    contract = build_contract({s: json.loads(t) for s, t in render(cfg).items()})
    from deployer.presentation.report import mermaid  # pure formatting: no AWS SDK import

    print(mermaid(contract, cfg.prefix), end="")
    return EXIT_OK


def cmd_cost(args: argparse.Namespace) -> int:
    import json

    from deployer.planning.cost import estimate
    from deployer.planning.prices import load_prices
    from deployer.presentation.cost_report import format_report, report_to_json
    from generators.synth import render

    cfg = load_config(args.config, args.env, args.prefix)
    prices = load_prices(region=cfg.env.region)
    if prices.warning:  # a region without a price table: the base region's prices, said once, not a failure
        print(prices.warning, file=sys.stderr)
    report = estimate({s: json.loads(t) for s, t in render(cfg).items()}, prices)
    print(json.dumps(report_to_json(report), indent=2) if args.output == "json" else format_report(report), end="")
    return EXIT_OK


def make_confirm(yes: bool, out: Any = None) -> Any:
    """One question per batch: `execute 2 change sets? [y/N/s]`; `s` asks stack by stack."""

    def ask(question: str) -> str:
        stream = out or sys.stdout
        stream.write(question)
        stream.flush()
        line = sys.stdin.readline()
        if not line:  # end of input: nothing is confirmed
            stream.write("\n")
        return line.strip().lower()

    def confirm(pending: list[tuple[str, int]]) -> list[str]:
        if yes:
            return [name for name, _ in pending]
        noun = "change set" if len(pending) == 1 else "change sets"
        what = f"{len(pending)} {noun}" if len(pending) > 1 else f"the change set for {pending[0][0]}"
        answer = ask(f"execute {what}? [y/N/s] ")
        if answer in ("y", "yes"):
            return [name for name, _ in pending]
        if answer in ("s", "select"):
            return [name for name, count in pending
                    if ask(f"  execute the change set for {name} ({count} change(s))? [y/N] ") in ("y", "yes")]
        return []

    return confirm


def confirm_destroy(question: str, word: str = "destroy") -> bool:
    if not sys.stdin.isatty():
        return False
    return input(f"{question} type `{word}` to confirm: ").strip() == word


def cmd_aws(args: argparse.Namespace) -> int:
    """Every command that talks to AWS (or the emulator); boto3 is imported from here on only."""
    from deployer.commands.deploy import Options
    from generators.regions import region_problem

    problem = endpoint_problem(os.environ) if not args.local else None
    problem = problem or (region_problem(args.region) if args.region else None)
    if problem:
        raise_usage(problem if args.region is None or problem.startswith("AWS_") else f"--region: {problem}")
    opts = Options(config=args.config, env=args.env, prefix=args.prefix, stacks=args.stack, region=args.region,
                   profile=args.profile, yes=args.yes, output=args.output, local=args.local,
                   change_set_name=args.change_set_name, wait=args.wait, force=args.force, rerun=args.rerun)
    if not args.local:
        return dispatch(args, opts)
    from deployer.emulator.local import emulator
    from deployer.presentation.report import Reporter

    region = args.region or load_config(args.config, args.env, args.prefix).env.region
    with emulator(Reporter(region, json_mode=args.output == "json"), region):
        return dispatch(args, opts)


def cmd_local_serve(args: argparse.Namespace) -> int:
    from deployer.emulator.serve import start, stop

    return stop() if args.local_stop else start()


def dispatch(args: argparse.Namespace, opts: Any) -> int:
    from deployer.commands import deploy as commands
    from deployer.commands import publish, status, teardown
    from deployer.emulator.local import is_emulator_endpoint, placeholder_images

    # Images cannot be built for an emulator: placeholders stand in, and only there.
    opts.local = args.local or is_emulator_endpoint()
    after = placeholder_images if opts.local else None
    if args.status:
        return status.status(opts, watch=args.watch)
    if args.logs or args.releases or args.rollback:
        from deployer.commands import day_two

        return day_two.dispatch(args, opts, make_confirm(args.yes, sys.stderr if args.output == "json" else None),
                                after)
    if args.wake:
        from deployer.commands.wake import wake

        return wake(opts, args.wake)
    if args.destroy:
        return teardown.destroy(opts, confirm_destroy)
    if args.rotate_origin_secret:
        from deployer.commands import origin_secret

        return origin_secret.rotate(opts, make_confirm(args.yes, sys.stderr if args.output == "json" else None),
                                    after)
    if args.set_image_tag:
        return publish.set_image_tag(opts, args.set_image_tag)
    if args.publish == "frontend":
        return publish.publish_frontend(opts, args.site)
    if args.publish:
        return publish.publish_service(opts, args.publish, args.tag, args.docker, args.allow_dirty)
    mode = "plan" if args.plan else "execute" if args.execute else "deploy"
    # The question goes where the change sets were shown (stderr with --output json, so stdout stays JSON).
    return commands.deploy(opts, mode, make_confirm(args.yes, sys.stderr if args.output == "json" else None), after)


def run(args: argparse.Namespace) -> int:
    if args.local_serve or args.local_stop:
        return cmd_local_serve(args)
    if args.synth:
        return cmd_synth(args)
    if args.graph:
        return cmd_graph(args)
    if args.cost:
        return cmd_cost(args)
    if args.watch and not sys.stdout.isatty():
        raise_usage("--watch redraws a terminal, and stdout is not one — drop --watch (or run it in a terminal)")
    if not (args.stack or args.status or args.publish or args.set_image_tag or args.wake or args.logs
            or args.releases or args.rollback or args.rotate_origin_secret):
        raise_usage("nothing to do — pass --stack NAME (or all), --synth, --status, --graph, --publish ...")
    return cmd_aws(args)


def raise_usage(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(EXIT_USAGE)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        code = run(args)
        sys.stdout.flush()  # here, not at exit: a reader gone by then would print a BrokenPipeError
        return code
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        return quiet_broken_pipe()
    except Exception as exc:  # the deployer's own errors, imported lazily to keep boto3 off --synth
        return handle(exc)


def quiet_broken_pipe() -> int:
    """stdout closed early (`--status | head -1`): stop quietly. Python would complain about the
    unflushed buffer at exit, so stdout is pointed at /dev/null first."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_FAILED


def handle(exc: Exception) -> int:
    from deployer.errors import Declined, Failed, UsageError

    if isinstance(exc, UsageError):
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, Declined):
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DECLINED
    if isinstance(exc, Failed):
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ClientError | BotoCoreError | ResponseParserError):
        # ResponseParserError is what an endpoint that answers an API it lacks with an HTML 500
        # page produces (an emulator other than --local's); it is not a BotoCoreError.
        detail = str(exc).splitlines()[0]
        print(f"error: AWS call failed: {detail} — nothing further was attempted; rerun to converge",
              file=sys.stderr)
        return EXIT_FAILED
    if os.environ.get("PLATFORM_DEBUG"):
        raise exc
    print(f"error: unexpected {type(exc).__name__}: {exc} — this is a bug in deploy.py; rerun with "
          "PLATFORM_DEBUG=1 for the traceback and report it", file=sys.stderr)
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
