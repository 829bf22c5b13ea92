#!/usr/bin/env python3
"""Generate and deploy the platform's CloudFormation stacks. Run with --help for usage.

Exit status: 0 done or nothing to change, 1 a deployment failed, 2 bad usage, configuration
or pre-flight check, 3 change sets created and waiting for review.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generators.config import DEFAULT_CONFIG, ConfigError, load_config

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REVIEW = 0, 1, 2, 3


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="deploy.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="configuration file (default: platform.toml)")
    p.add_argument("--env", default="dev", help="environment from the configuration (default: dev)")
    p.add_argument("--prefix", help="override the environment's project prefix")
    p.add_argument("--synth", action="store_true", help="write every template under templates/<env>/")
    p.add_argument("--check", action="store_true", help="with --synth: write nothing, exit 1 if templates are stale")
    return p.parse_args(argv)


def cmd_synth(args: argparse.Namespace) -> int:
    from generators.synth import synth  # troposphere only; boto3 stays off this path

    cfg = load_config(args.config, args.env, args.prefix)
    result = synth(cfg, check=args.check)
    for path in result.changed:
        print(f"{'stale' if args.check else 'wrote'}   {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    for path in result.removed:
        print(f"{'stale' if args.check else 'removed'} {path}")
    if args.check and result.stale:
        print(f"templates are stale: run `python deploy.py --synth --env {args.env}` and commit the result",
              file=sys.stderr)
        return EXIT_FAILED
    if not result.stale:
        print(f"templates up to date in {result.directory}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.synth:
            return cmd_synth(args)
        print("error: nothing to do (try --synth)", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
