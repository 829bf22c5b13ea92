"""The shape of platform.toml: which keys exist, their types, and per-value checks.

Kept as data so that an unknown key (a typo) and a wrong type are caught by one loop,
with the same one-line message everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .agent_names import check_extras, check_models


class ConfigError(Exception):
    """A configuration problem, already phrased as the one line the user sees."""


Check = Callable[[Any], str | None]  # returns what was expected when the value is wrong


@dataclass(frozen=True)
class Field:
    kind: str  # "str" | "int" | "bool" | "str-list" | "str-map" | "table" | "table-map" | "table-list"
    required: bool = False
    check: Check | None = None


_KIND_NAMES = {
    "str": "a string",
    "int": "an integer",
    "number": "a number",
    "bool": "true or false",
    "str-list": "a list of strings",
    "str-map": "a table of string values",
    "table": "a table",
    "table-map": "a table of tables",
    "table-list": "an array of tables ([[...]])",
}


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "str-list":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "str-map":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if kind == "table":
        return isinstance(value, dict)
    if kind == "table-map":
        return isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())
    if kind == "table-list":
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)
    raise AssertionError(kind)


def check_table(table: dict[str, Any], fields: dict[str, Field], where: str, key: str) -> None:
    """Reject unknown keys, missing required keys, wrong types and failed checks, in that order."""
    dot = f"{key}." if key else ""
    for name in table:
        if name not in fields:
            close = [f for f in fields if _similar(f, name)]
            hint = f"did you mean {close[0]!r}?" if close else f"expected one of: {', '.join(fields)}"
            raise ConfigError(f"{where}: {dot}{name}: unknown key ({hint})")
    for name, spec in fields.items():
        if name not in table:
            if spec.required:
                raise ConfigError(f"{where}: {dot}{name}: missing required key (expected {_KIND_NAMES[spec.kind]})")
            continue
        value = table[name]
        if not _is_kind(value, spec.kind):
            raise ConfigError(f"{where}: {dot}{name}: wrong type {type(value).__name__} "
                              f"(expected {_KIND_NAMES[spec.kind]})")
        problem = spec.check(value) if spec.check else None
        if problem:
            raise ConfigError(f"{where}: {dot}{name}: {value!r} is not accepted (expected {problem})")


def _similar(a: str, b: str) -> bool:
    """A cheap typo detector: same letters give or take one, or one is a prefix of the other."""
    if a.startswith(b) or b.startswith(a):
        return True
    if abs(len(a) - len(b)) > 2:
        return False
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b)) <= 2


def _between(lo: int, hi: int) -> Check:
    return lambda v: None if lo <= v <= hi else f"{lo}..{hi}"


def _one_of(*options: str) -> Check:
    return lambda v: None if v in options else " or ".join(repr(o) for o in options)


def _matches(pattern: str, expected: str) -> Check:
    rx = re.compile(pattern)
    return lambda v: None if rx.fullmatch(v) else expected


def _each(check: Check, non_empty: bool = True) -> Check:
    def run(values: list[str]) -> str | None:
        if non_empty and not values:
            return "at least one entry"
        for v in values:
            problem = check(v)
            if problem:
                return f"{problem}; {v!r} is not"
        return None

    return run


def _env_names(values: dict[str, str]) -> str | None:
    bad = [k for k in values if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", k)]
    return f"UPPER_SNAKE_CASE variable names; {bad[0]!r} is not" if bad else None


# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)

TOP_FIELDS: dict[str, Field] = {
    "project": Field("str", True, _matches(r"[A-Za-z0-9][A-Za-z0-9_.:/=+@-]{0,127}", "a tag-safe name")),
    "environments": Field("table-map", True),
    "services": Field("table-list", True, lambda v: None if v else "at least one [[services]] entry"),
    "ci": Field("table", False),  # the pipelines' identity, parsed in ci_config.py
}

ENV_FIELDS: dict[str, Field] = {
    "prefix": Field("str", True),  # checked together with --prefix in config.py
    "region": Field("str", True),  # checked in config.py against botocore's endpoint data
    "account_id": Field("str", False, _matches(r"\d{12}", "a 12-digit AWS account id")),
    "vpc_cidr": Field("str", True),  # checked in config.py against az_count
    "az_count": Field("int", False, _between(2, 3)),
    "nat": Field("str", False, _one_of("single", "instance", "none")),
    "log_retention_days": Field(
        "int", False, lambda v: None if v in LOG_RETENTION_DAYS else "a CloudWatch retention such as 7, 14, 30, 90"
    ),
    "deletion_protection": Field("bool", False),
    # Per-environment sizing of services: [environments.<env>.services.<name>], see OVERRIDE_FIELDS.
    "services": Field("table-map", False),
    # The edge keys (edge, domain, certificates, ...) are in edge_config.EDGE_FIELDS.
    # Parsed in auth_config.py: an environment people depend on, its sign-in and its spend guard.
    "production": Field("bool", False),
    "auth": Field("table", False),
    "spend_guard": Field("table", False),
    "waf": Field("table", False),  # [environments.<env>.waf], parsed in waf_config.py
    # ALB access logs to S3 and VPC flow logs to CloudWatch Logs (infrastructure stack; issue 11).
    "access_logs": Field("bool", False),
    "flow_logs": Field("bool", False),
    # Parsed in schedule_config.py / checked in capacity_config.py: working hours, Spot in production.
    "schedule": Field("table", False),
    "allow_spot_in_production": Field("bool", False),
}

SERVICE_FIELDS: dict[str, Field] = {
    # name, port and path_patterns are also checked in config_checks.py against what AWS accepts.
    "name": Field("str", True),
    "port": Field("int", True, _between(1, 65535)),
    "path_patterns": Field("str-list", True, lambda v: None if v else "at least one path pattern"),
    "priority": Field("int", True, _between(1, 50000)),
    "health_check_path": Field("str", True, _matches(r"/[A-Za-z0-9_./-]{0,1023}", "a path starting with /")),
    "cpu": Field("int", True),
    "memory": Field("int", True),
    "desired_count": Field("int", True, _between(0, 1000)),
    "min_count": Field("int", True, _between(0, 1000)),
    "max_count": Field("int", True, _between(1, 1000)),
    "cpu_target_percent": Field("int", False, _between(10, 95)),
    "bedrock_models": Field("str-list", False, check_models),  # model or inference-profile ids
    "environment": Field("str-map", False, _env_names),
    "limits": Field("table", False),  # parsed in auth_config.py
    # Parsed in ops_config.py: container secrets from SSM/Secrets Manager, deployment alarm thresholds.
    "secrets": Field("str-map", False, _env_names),
    "secrets_kms_key": Field("str", False),
    "alarms": Field("table", False),
    "extras": Field("str-list", False, check_extras),  # image extras (agent_config.py)
    "agent": Field("table", False),  # [services.agent], parsed in agent_config.py
    # Where tasks run (capacity_config.py): Spot / on demand, x86_64 / arm64, on-demand base for "mixed".
    "capacity": Field("str", False, _one_of("fargate", "spot", "mixed")),
    "arch": Field("str", False, _one_of("x86_64", "arm64")),
    "spot_base": Field("int", False, _between(1, 1000)),
}

# What an environment may change about a service: its size and scale, extra variables and limits.
# Routing (paths, priority, port) stays the same everywhere, so every environment is the same product.
OVERRIDE_FIELDS: dict[str, Field] = {
    k: replace(SERVICE_FIELDS[k], required=False)
    for k in ("cpu", "memory", "desired_count", "min_count", "max_count", "cpu_target_percent", "environment",
              "limits", "capacity", "arch", "spot_base", "secrets", "secrets_kms_key", "alarms", "extras",
              "agent")
}
