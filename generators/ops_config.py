"""Day-two configuration of a service: `secrets` and `[services.alarms]` (issue 11).

`secrets = { NAME = "ssm:/path" | "secretsmanager:<full secret ARN>[:json-key]" }` becomes the
container's `Secrets`; the execution role may read exactly those. `[services.alarms]` holds the
thresholds of the alarms that guard a deployment (generators/service_alarms.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .naming import RESERVED_ENV_PREFIXES, RESERVED_ENV_VARS
from .schema import ConfigError, Field, check_table

# ECS resolves a Secrets Manager secret only by its full ARN, whose name ends in `-` and 6 random
# characters that AWS adds; the console's secret page and `aws secretsmanager describe-secret` show it.
SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}")
SSM_PATH = re.compile(r"/[A-Za-z0-9_.\-/]{1,1010}")
KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+")
WHERE_ARN = "the secret's page in the Secrets Manager console, or aws secretsmanager describe-secret --secret-id NAME"
# Names that say "this is a secret": such a value must come from `secrets`, never a plain variable.
SECRET_NAME = re.compile(r".*(PASSWORD|SECRET).*|.*TOKEN|.*_KEY")
NOT_SECRET_NAMES = frozenset({"BEDROCK_MAX_TOKENS"})


@dataclass(frozen=True)
class Secret:
    name: str  # the container variable
    scheme: str  # "ssm" | "secretsmanager"
    target: str  # the parameter path, or the secret's full ARN
    json_key: str | None = None

    @property
    def is_ssm(self) -> bool:
        return self.scheme == "ssm"


@dataclass(frozen=True)
class Alarms:
    """Thresholds of the deployment alarms; each must be > 0 (a 0 would alarm on every deploy)."""
    http_5xx_count: int = 10  # target 5xx responses per minute
    http_5xx_percent: float = 5.0  # target 5xx responses as a percentage of requests, per minute
    p99_response_seconds: float = 2.0  # p99 TargetResponseTime over a minute
    unhealthy_hosts: int = 1  # unhealthy targets (maximum over a minute)
    evaluation_minutes: int = 3  # consecutive breaching minutes before the alarm fires


ALARM_FIELDS: dict[str, Field] = {name: Field(kind) for name, kind in (
    ("http_5xx_count", "int"), ("http_5xx_percent", "number"), ("p99_response_seconds", "number"),
    ("unhealthy_hosts", "int"), ("evaluation_minutes", "int"))}


def parse_alarms(where: str, key: str, t: dict[str, Any]) -> Alarms:
    table = t.get("alarms", {})
    check_table(table, ALARM_FIELDS, where, f"{key}.alarms")
    for name, value in table.items():
        if value <= 0:
            raise ConfigError(f"{where}: {key}.alarms.{name}: {value!r} is not accepted (expected a number > 0; "
                              "leave the key out for the default)")
    return Alarms(**table)


def parse_secrets(where: str, key: str, t: dict[str, Any]) -> tuple[Secret, ...]:
    parsed = [parse_secret(where, f"{key}.secrets.{name}", name, ref) for name, ref in t.get("secrets", {}).items()]
    for s in parsed:
        if s.name in RESERVED_ENV_VARS or s.name.startswith(RESERVED_ENV_PREFIXES):
            raise ConfigError(f"{where}: {key}.secrets.{s.name}: a variable the platform or AWS sets "
                              "(expected a name of your own)")
    clash = sorted(set(s.name for s in parsed) & set(t.get("environment", {})))
    if clash:
        raise ConfigError(f"{where}: {key}.secrets.{clash[0]}: also set in environment (expected one of the two)")
    return tuple(sorted(parsed, key=lambda s: s.name))


def parse_secret(where: str, key: str, name: str, ref: str) -> Secret:
    scheme, _, rest = ref.partition(":")
    if scheme == "ssm":
        if not SSM_PATH.fullmatch(rest):
            raise ConfigError(f"{where}: {key}: {ref!r} is not an SSM parameter path (expected \"ssm:/path/name\")")
        return Secret(name, "ssm", rest)
    if scheme == "secretsmanager":
        found = SECRET_ARN.match(rest)
        tail = rest[found.end():] if found else ""
        if not found or (tail and not re.fullmatch(r":[A-Za-z0-9_.-]+", tail)):
            raise ConfigError(f"{where}: {key}: {ref!r} is not a full Secrets Manager ARN (expected "
                              "\"secretsmanager:arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf"
                              f"[:json-key]\"; find the full ARN on {WHERE_ARN})")
        return Secret(name, "secretsmanager", found.group(0), tail[1:] or None)
    raise ConfigError(f"{where}: {key}: {ref!r} has an unknown scheme {scheme!r} "
                      "(expected \"ssm:/path\" or \"secretsmanager:<full secret ARN>[:json-key]\")")


def parse_kms_key(where: str, key: str, t: dict[str, Any]) -> str | None:
    value = t.get("secrets_kms_key")
    if value is not None and not KMS_KEY_ARN.fullmatch(value):
        raise ConfigError(f"{where}: {key}.secrets_kms_key: {value!r} is not accepted "
                          "(expected a KMS key ARN, arn:aws:kms:<region>:<account>:key/<id>)")
    return value


def check_secret_names(where: str, key: str, env: dict[str, str]) -> None:
    """Plain variables named like secrets are refused: their values would sit in templates and git."""
    for name in sorted(env):
        if name not in NOT_SECRET_NAMES and SECRET_NAME.fullmatch(name):
            raise ConfigError(f"{where}: {key}.environment.{name}: looks like a secret, and plain values are "
                              f"committed in the templates (expected it under secrets: {name} = \"ssm:/path\" "
                              "or \"secretsmanager:<full secret ARN>\")")
