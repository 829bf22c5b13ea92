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
  python deploy.py --set-image-tag app-api=T       point the service at a tag already in ECR
  python deploy.py --publish frontend [--site DIR] upload the site, invalidate CloudFront
  python deploy.py --rotate-origin-secret          new public-alb origin secret, in three change-set steps

Exit status: 0 done or nothing to change, 1 a deployment failed, 2 bad usage, configuration
or pre-flight check (nothing changed), 3 change sets created and waiting for review.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

from generators.config import DEFAULT_CONFIG, ConfigError, load_config

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REVIEW = 0, 1, 2, 3


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, like every other usage error (argparse would print the whole usage first).
        print(f"error: {message} — see python deploy.py --help", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = Parser(prog="deploy.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="configuration file (default: platform.toml)")
    p.add_argument("--env", default="dev", help="environment from the configuration (default: dev)")
    p.add_argument("--prefix", help="override the environment's project prefix (templates go to build/)")
    p.add_argument("--stack", action="append", default=[], metavar="NAME",
                   help="stack to act on, repeatable; `all` for every stack")
    p.add_argument("--region", help="AWS region (default: the environment's)")
    p.add_argument("--profile", help="AWS profile (default: AWS_PROFILE / the default chain)")
    p.add_argument("--yes", "-y", action="store_true", help="execute/delete without asking")
    p.add_argument("--local", action="store_true", help="run against an embedded AWS emulator (moto)")
    p.add_argument("--output", choices=("text", "json"), default="text", help="json: one document on stdout")
    p.add_argument("--check", action="store_true", help="with --synth: write nothing, exit 1 if stale")
    p.add_argument("--tag", help="with --publish: image tag (default: short git SHA of a clean tree)")
    p.add_argument("--docker", help="with --publish: docker command (default: $PLATFORM_DOCKER or docker)")
    p.add_argument("--wait", action="store_true",
                   help="a stack another deployment is changing: wait for it to settle, then go on (default: refuse)")
    p.add_argument("--site", type=Path, metavar="DIR",
                   help="with --publish frontend: site sources (default: services/frontend/src)")
    p.add_argument("--change-set-name", type=change_set_name, metavar="NAME",
                   help="name the --plan change sets, and --execute only those (default: deploy-py-<time>, "
                        "or deploy-py-run-<run id>-<attempt> in GitHub Actions; --execute: newest deploy-py-*)")
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
    return p.parse_args(argv)


def change_set_name(value: str) -> str:
    from deployer.planner import change_set_name_problem  # pure: no AWS SDK on this path

    problem = change_set_name_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def cmd_synth(args: argparse.Namespace) -> int:
    from generators.synth import synth  # troposphere only; boto3 stays off this path

    cfg = load_config(args.config, args.env, args.prefix)
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
    from deployer.report import mermaid  # pure formatting: no AWS SDK import

    print(mermaid(contract, cfg.prefix), end="")
    return EXIT_OK


def cmd_cost(args: argparse.Namespace) -> int:
    import json

    from deployer.cost import estimate, format_report, load_prices, report_to_json
    from generators.synth import render

    cfg = load_config(args.config, args.env, args.prefix)
    report = estimate({s: json.loads(t) for s, t in render(cfg).items()}, load_prices())
    print(json.dumps(report_to_json(report), indent=2) if args.output == "json" else format_report(report), end="")
    return EXIT_OK


def make_confirm(yes: bool) -> Any:
    lock = threading.Lock()

    def confirm(sp: Any, rows: list[Any]) -> bool:
        if yes:
            return True
        with lock:  # stacks of one batch run in parallel: one question at a time
            answer = input(f"execute the change set for {sp.stack_name} ({len(rows)} change(s))? [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    return confirm


def confirm_destroy(names: list[str]) -> bool:
    if not sys.stdin.isatty():
        return False
    answer = input(f"delete {', '.join(names)}? type `destroy` to confirm: ")
    return answer.strip() == "destroy"


def cmd_aws(args: argparse.Namespace) -> int:
    """Every command that talks to AWS (or the emulator); boto3 is imported from here on only."""
    from deployer.commands import Options

    opts = Options(config=args.config, env=args.env, prefix=args.prefix, stacks=args.stack, region=args.region,
                   profile=args.profile, yes=args.yes, output=args.output, local=args.local,
                   change_set_name=args.change_set_name, wait=args.wait)
    if not args.local:
        return dispatch(args, opts)
    from deployer.local import emulator
    from deployer.report import Reporter

    region = args.region or load_config(args.config, args.env, args.prefix).env.region
    with emulator(Reporter(region, json_mode=args.output == "json"), region):
        return dispatch(args, opts)


def dispatch(args: argparse.Namespace, opts: Any) -> int:
    from deployer import commands, publish, status, teardown
    from deployer.local import is_emulator_endpoint, placeholder_images

    # Images cannot be built for an emulator: placeholders stand in, and only there.
    opts.local = args.local or is_emulator_endpoint()
    after = placeholder_images if opts.local else None
    if args.status:
        return status.status(opts)
    if args.rotate_origin_secret:
        from deployer import origin_secret

        return origin_secret.rotate(opts, make_confirm(args.yes), after)
    if args.destroy:
        return teardown.destroy(opts, confirm_destroy)
    if args.set_image_tag:
        return publish.set_image_tag(opts, args.set_image_tag)
    if args.publish == "frontend":
        return publish.publish_frontend(opts, args.site)
    if args.publish:
        return publish.publish_service(opts, args.publish, args.tag, args.docker)
    mode = "plan" if args.plan else "execute" if args.execute else "deploy"
    return commands.deploy(opts, mode, make_confirm(args.yes), after)


def run(args: argparse.Namespace) -> int:
    others = (args.synth, args.graph, args.cost, args.status, args.destroy, args.publish, args.set_image_tag)
    if args.site and args.publish != "frontend":
        raise_usage("--site only goes with --publish frontend")
    for given, flag in ((args.change_set_name, "--change-set-name"), (args.wait, "--wait")):
        if given and any(others):
            raise_usage(f"{flag} only goes with a deploy, --plan or --execute")
    if args.synth:
        return cmd_synth(args)
    if args.graph:
        return cmd_graph(args)
    if args.cost:
        return cmd_cost(args)
    if args.check:
        raise_usage("--check only goes with --synth")
    if not (args.stack or args.status or args.publish or args.set_image_tag or args.rotate_origin_secret):
        raise_usage("nothing to do — pass --stack NAME (or all), --synth, --status, --graph, --publish ...")
    return cmd_aws(args)


def raise_usage(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(EXIT_USAGE)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # the deployer's own errors, imported lazily to keep boto3 off --synth
        return handle(exc)


def handle(exc: Exception) -> int:
    from deployer.errors import UsageError

    if isinstance(exc, UsageError):
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
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
