"""The rules platform.toml values must meet because AWS, the containers or the tool itself need them.

schema.py checks each value on its own (type, range); these checks know *why* a value cannot
work: a name AWS would reject once combined with the prefix, a port a non-root container cannot
bind, a variable the platform sets itself. Each raises ConfigError with the one line the user
sees: `<file>: <key>: <what is wrong> (<what is expected>)`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping

from .naming import (
    RESERVED_ENV_PREFIXES,
    RESERVED_ENV_VARS,
    RESERVED_NAMES,
    log_group_name,
    repository_name,
    stack_name,
)
from .regions import region_problem
from .schema import ConfigError

# Words of lower-case letters and digits joined by single hyphens, starting with a letter. Every
# physical name built from a prefix and a service name then fits all of them at once: an ECR
# repository name `<prefix>/<service>` takes only single separators between alphanumerics (so not
# `app-`, `a--b`), a CloudFormation stack name `<prefix>-<service>` letters, digits and hyphens
# starting with a letter, a log group `/ecs/<prefix>/<service>` these and more. Target groups and
# IAM roles are named by CloudFormation from the stack name, so the stack name's rules cover them.
NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
NAME_SHAPE = "lower-case letters and digits, words joined by single hyphens, starting with a letter, like app-api"
PREFIX_LENGTH = range(2, 32)

# An environment name becomes a folder (templates/<env>, build/templates/<env>-<prefix>) and the
# ENVIRONMENT variable: no dots, slashes or spaces, so it can never point outside those folders.
ENV_NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,31}")
# Names of the folders the tool writes beside the environments' own.
RESERVED_ENV_NAMES = ("build", "templates")

# Each name a service gets, with the most characters AWS accepts for it.
PHYSICAL_NAMES: tuple[tuple[str, Callable[[str, str], str], int], ...] = (
    ("CloudFormation stack name", stack_name, 128),
    ("ECS task definition family", stack_name, 255),
    ("ECR repository name", repository_name, 256),
    ("CloudWatch log group", log_group_name, 512),
)

# ALB listener rules: "You can specify up to three match evaluations per condition and up to five
# match evaluations per rule" (Elastic Load Balancing user guide, "Listener rules for your
# Application Load Balancer", Rule basics). Each service has one rule with one path-pattern
# condition, so three path patterns is its limit; both numbers are kept so a second condition
# (host-header) only has to count itself in.
PATH_VALUES_PER_CONDITION = 3
VALUES_PER_RULE = 5
# A path pattern is case-sensitive, up to 128 characters, of A-Z a-z 0-9 _ - . $ / ~ " ' @ : +
# and the wildcards * and ? (same guide, "Condition types for listener rules", path conditions;
# `&` is listed too but only as an XML-escaped `&amp;`, so it is left out here).
PATH_RE = re.compile(r"/[A-Za-z0-9_.$/~\"'@:+*?-]{0,127}")
PATH_SHAPE = "a path starting with / of at most 128 characters from A-Z a-z 0-9 _ - . $ / ~ \" ' @ : + * ?"

# The containers run as a non-root user (USER 10001 in every Dockerfile), which cannot bind ports
# below 1024 (a privileged port needs root or CAP_NET_BIND_SERVICE, which the task does not get).
MIN_PORT = 1024
# ECS reserves the Docker daemon ports and the ECS agent's ports on a container instance; in awsvpc
# mode the host port is the container port, and "do not specify a host port in the ephemeral port
# range" (ECS PortMapping hostPort: ports from 32768 up are handed out for outbound connections).
RESERVED_PORTS = {2375: "the Docker daemon (ECS reserves it)", 2376: "the Docker daemon over TLS (ECS reserves it)"}
EPHEMERAL_PORTS_FROM = 32768

# RFC 1918 private ranges: a VPC elsewhere would shadow public addresses its tasks must reach
# (a public range), or cannot route at all (loopback, link-local, multicast).
PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def check_env_name(where: str, name: str) -> None:
    # Quoted as TOML would need it, so the key shown is the one to look for in the file.
    key = f"environments.{name}" if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'environments."{name}"'
    if not ENV_NAME_RE.fullmatch(name):
        raise ConfigError(f"{where}: {key}: {name!r} is not a valid environment name "
                          "(expected [a-z][a-z0-9-]*, at most 32 characters: no dots, slashes or spaces)")
    if name in RESERVED_ENV_NAMES:
        raise ConfigError(f"{where}: {key}: {name!r} is reserved for the tool's own folders "
                          f"(expected another name than {', '.join(RESERVED_ENV_NAMES)})")


def check_prefix(source: str, value: str) -> None:
    """`source` is `--prefix` or `<file>: environments.<env>.prefix`."""
    if not (NAME_RE.fullmatch(value) and len(value) in PREFIX_LENGTH):
        raise ConfigError(f"{source}: {value!r} is not a valid prefix (expected [a-z][a-z0-9-]{{1,30}}: "
                          f"{NAME_SHAPE}; no hyphen at the end or doubled)")


def check_service_name(where: str, key: str, name: str) -> None:
    if name in RESERVED_NAMES:
        raise ConfigError(f"{where}: {key}.name: {name!r} is the name of one of the platform's own stacks "
                          f"or the CLI's `all` (expected another name than {', '.join(RESERVED_NAMES)})")
    if not (NAME_RE.fullmatch(name) and len(name) >= 2):
        raise ConfigError(f"{where}: {key}.name: {name!r} is not a valid service name (expected {NAME_SHAPE}; "
                          "at least 2 characters)")


def check_physical_names(where: str, key: str, prefix: str, name: str, prefix_source: str) -> None:
    """Every AWS name built from the prefix and the service name fits that name's limit."""
    for what, build, limit in PHYSICAL_NAMES:
        full = build(prefix, name)
        if len(full) > limit:
            raise ConfigError(f"{where}: {key}.name: {name!r} with prefix {prefix!r} ({prefix_source}) makes the "
                              f"{what} {len(full)} characters long (expected at most {limit}: shorten the name)")


def check_distinct_names(where: str, names: Iterable[tuple[str, str]]) -> None:
    """Two names may not differ only in hyphens (`app-2x`, `app2x`): resource ids drop the hyphens."""
    seen: dict[str, str] = {}
    for key, name in names:
        bare = name.replace("-", "")
        if bare in seen and seen[bare] != name:
            raise ConfigError(f"{where}: {key}.name: {name!r} and {seen[bare]!r} differ only in hyphens, which "
                              "CloudFormation resource ids leave out (expected names that differ in a letter or digit)")
        seen[bare] = name


def check_prefixes_apart(where: str, owners: list[tuple[str, str, str | None]], services: list[str]) -> None:
    """Environments that may share an account must not share a stack name: one would overwrite the other.

    `owners` holds (key, prefix, account_id) per environment, `--prefix` standing in for the one it overrides.
    """
    stacks = [n for n in RESERVED_NAMES if n != "all"] + services
    seen: dict[str, tuple[str, str | None]] = {}
    for key, prefix, account in owners:
        names = [stack_name(prefix, s) for s in stacks]
        for full in names:
            other = seen.get(full)
            if other and (other[1] is None or account is None or other[1] == account):
                source = key if key == "--prefix" else f"{where}: {key}"
                raise ConfigError(f"{source}: {prefix!r} gives the stack name {full!r} that {other[0]} gives too "
                                  "(expected a prefix no other environment in the same account shares; "
                                  "set different account_id values if they live in different accounts)")
        seen.update((full, (key, account)) for full in names)


def check_path_patterns(where: str, key: str, patterns: list[str]) -> None:
    for pattern in patterns:
        if not PATH_RE.fullmatch(pattern):
            raise ConfigError(f"{where}: {key}.path_patterns: {pattern!r} is not accepted by an ALB listener rule "
                              f"(expected {PATH_SHAPE})")
    limit = min(PATH_VALUES_PER_CONDITION, VALUES_PER_RULE)
    if len(patterns) > limit:
        raise ConfigError(f"{where}: {key}.path_patterns: {len(patterns)} patterns, but the service's listener rule "
                          f"takes at most {limit} (a path-pattern condition holds {PATH_VALUES_PER_CONDITION} values; "
                          "expected a common prefix with a wildcard, like /api/*)")


def check_port(where: str, key: str, port: int) -> None:
    if port < MIN_PORT:
        raise ConfigError(f"{where}: {key}.port: {port} is below {MIN_PORT}: the containers run as a non-root user, "
                          f"which cannot bind it (expected {MIN_PORT}..{EPHEMERAL_PORTS_FROM - 1}, e.g. 8000)")
    if port in RESERVED_PORTS:
        raise ConfigError(f"{where}: {key}.port: {port} is reserved for {RESERVED_PORTS[port]} "
                          f"(expected another port in {MIN_PORT}..{EPHEMERAL_PORTS_FROM - 1}, e.g. 8000)")
    if port >= EPHEMERAL_PORTS_FROM:
        raise ConfigError(f"{where}: {key}.port: {port} is in the ephemeral range Linux hands out for outbound "
                          f"connections (expected {MIN_PORT}..{EPHEMERAL_PORTS_FROM - 1}, e.g. 8000)")


def check_env_vars(where: str, key: str, env: Mapping[str, str]) -> None:
    for name in env:
        if name in RESERVED_ENV_VARS:
            raise ConfigError(f"{where}: {key}.environment.{name}: set by the platform itself (expected a variable "
                              f"of your own; the platform sets {', '.join(RESERVED_ENV_VARS)})")
        if name.startswith(RESERVED_ENV_PREFIXES):
            raise ConfigError(f"{where}: {key}.environment.{name}: AWS sets {'/'.join(RESERVED_ENV_PREFIXES)}* "
                              "variables in every task (expected a name without those prefixes)")


def check_private_cidr(where: str, key: str, net: ipaddress.IPv4Network) -> None:
    if not any(net.subnet_of(r) for r in PRIVATE_RANGES):
        raise ConfigError(f"{where}: {key}: {str(net)!r} is not inside a private range (expected a block inside "
                          f"{', '.join(str(r) for r in PRIVATE_RANGES)} (RFC 1918), e.g. \"10.20.0.0/16\")")


def check_region(where: str, key: str, region: str) -> None:
    problem = region_problem(region)
    if problem:
        raise ConfigError(f"{where}: {key}: {problem}")
