"""Which flags go with which command, and the inputs checked before anything runs: pure, no AWS SDK.

A flag given to a command it does not apply to is a usage error (exit 2), never silently ignored:
`--stack nope --synth` or `--output json --graph` would otherwise suggest it had an effect.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

AWS_COMMANDS = frozenset({"deploy", "plan", "execute", "destroy", "status", "publish", "set-image-tag", "wake",
                          "logs", "releases", "rollback", "rotate-origin-secret"})
CHANGE_SETS = frozenset({"deploy", "plan", "execute"})
CONFIGURED = AWS_COMMANDS | {"synth", "graph", "cost"}
# flag -> the commands it applies to (`deploy` is --stack without --plan/--execute/--destroy)
APPLIES: dict[str, frozenset[str]] = {
    "--config": CONFIGURED,
    "--env": CONFIGURED,
    "--prefix": CONFIGURED,
    "--stack": CHANGE_SETS | {"destroy"},
    "--region": AWS_COMMANDS,
    "--profile": AWS_COMMANDS,
    "--local": AWS_COMMANDS,
    "--yes": frozenset({"deploy", "execute", "destroy", "rollback", "rotate-origin-secret"}),
    "--output": CHANGE_SETS | {"destroy", "status", "cost", "logs", "releases", "rollback"},
    "--check": frozenset({"synth"}),
    "--tag": frozenset({"publish"}),
    "--docker": frozenset({"publish"}),
    "--allow-dirty": frozenset({"publish"}),
    "--site": frozenset({"publish"}),
    "--wait": CHANGE_SETS,
    "--change-set-name": CHANGE_SETS,
    "--force": frozenset({"destroy"}),
    # Day two (issue 11)
    "--since": frozenset({"logs"}),
    "--follow": frozenset({"logs"}),
    "--filter": frozenset({"logs"}),
    "--watch": frozenset({"status"}),
    "--to": frozenset({"rollback"}),
}
SPELLED = {"deploy": "a deploy", "publish": "--publish", "set-image-tag": "--set-image-tag", "wake": "--wake"}
ORDER = ("deploy", "plan", "execute", "destroy", "status", "publish", "set-image-tag", "wake", "synth", "graph",
         "cost", "logs", "releases", "rollback", "rotate-origin-secret")


def command(args: argparse.Namespace) -> str:
    for name in ("synth", "plan", "execute", "destroy", "status", "graph", "cost", "publish", "set_image_tag",
                 "wake", "local_serve", "local_stop", "logs", "releases", "rollback", "rotate_origin_secret"):
        if getattr(args, name):
            return name.replace("_", "-")
    return "deploy"


def misplaced_flag(args: argparse.Namespace) -> str | None:
    """The first flag given that the chosen command does not use, as a one-line message, or None."""
    chosen = command(args)
    for flag, allowed in APPLIES.items():
        value = getattr(args, flag[2:].replace("-", "_"))
        if value in (None, False, []) or chosen in allowed:
            continue
        spelled = [SPELLED.get(c, f"--{c}") for c in ORDER if c in allowed]
        listed = spelled[0] if len(spelled) == 1 else f"{', '.join(spelled[:-1])} or {spelled[-1]}"
        return f"{flag} only goes with {listed}, not with {SPELLED.get(chosen, '--' + chosen)}"
    if args.site and args.publish != "frontend":
        return "--site only goes with --publish frontend"
    if (args.tag or args.docker or args.allow_dirty) and args.publish == "frontend":
        return "--tag, --docker and --allow-dirty only go with --publish SERVICE, not with --publish frontend"
    if args.watch and args.output == "json":
        return "--watch redraws a terminal, --output json prints one document — drop one of them"
    return None


def config_file(value: str) -> Path:
    """argparse type for --config: a directory or a file that is not UTF-8 ends as one line."""
    path = Path(value)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a directory (expected a TOML file such as platform.toml)")
    try:
        path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return path  # the loader names the missing file and what to do
    except UnicodeDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{value} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{value}: cannot read it ({exc.strerror})") from None
    return path


def endpoint_problem(environ: Mapping[str, str]) -> str | None:
    """AWS_ENDPOINT_URL (or a per-service AWS_ENDPOINT_URL_*) that botocore would reject, as a message."""
    for name, value in sorted(environ.items()):
        if not name.startswith("AWS_ENDPOINT_URL") or not value:
            continue
        url = urlparse(value)
        if url.scheme not in ("http", "https") or not url.hostname:
            return (f"{name}={value!r} is not a URL (expected e.g. http://127.0.0.1:4566 or "
                    f"https://cloudformation.eu-west-1.amazonaws.com) — fix or unset it")
        try:
            _ = url.port
        except ValueError:
            return f"{name}={value!r} has an invalid port — fix or unset it"
    return None


def rerun_flags(args: argparse.Namespace) -> str:
    """Every flag that chose the target (--env, --prefix, --config, --region, --profile, --local),
    so a command printed for the user acts on the same stacks theirs did."""
    parts = ["--env", args.env or "dev"]
    for flag, value in (("--prefix", args.prefix), ("--config", args.config), ("--region", args.region),
                        ("--profile", args.profile)):
        if value:
            parts += [flag, str(value)]
    return shlex.join(parts + (["--local"] if args.local else []))
