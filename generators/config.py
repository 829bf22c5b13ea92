"""Load and validate platform.toml once, into frozen dataclasses the generators read.

Every error is one line: `<file>: <key path>: <what is wrong> (<what is expected>)`.
Nothing downstream re-validates; generators trust what this module hands them.
"""

from __future__ import annotations

import ipaddress
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config_checks as checks
from .agent_browser import check_browser
from .agent_config import AgentConfig, merged_agent, parse_agent
from .auth_config import AuthConfig, SpendGuard, env_security, parse_limits
from .capacity_config import check_environment, parse_capacity
from .ci_config import CiConfig, parse_ci
from .edge_config import EDGE_FIELDS, EdgeConfig, check_retired, parse_edge
from .elb_log_delivery import check_access_logs
from .ops_config import Alarms, Secret, check_secret_names, parse_alarms, parse_kms_key, parse_secrets
from .schedule_config import Schedule, parse_schedule
from .schema import ENV_FIELDS, OVERRIDE_FIELDS, SERVICE_FIELDS, TOP_FIELDS, ConfigError, check_table
from .waf_config import WafConfig, parse_waf

__all__ = ["Config", "ConfigError", "EnvConfig", "ServiceSpec", "DEFAULT_CONFIG", "load_config"]

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "platform.toml"

# Fargate accepts only these cpu units -> memory MiB combinations (AWS ECS task size table).
FARGATE_SIZES: dict[int, range] = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
    8192: range(16384, 61441, 4096),
    16384: range(32768, 122881, 8192),
}


@dataclass(frozen=True)
class EnvConfig:
    name: str
    prefix: str
    region: str
    account_id: str | None
    vpc_cidr: str
    az_count: int
    nat: str
    log_retention_days: int
    deletion_protection: bool
    edge: EdgeConfig = EdgeConfig()  # how CloudFront reaches the load balancer (edge_config.py)
    production: bool = False
    auth: AuthConfig = AuthConfig()
    spend_guard: SpendGuard = SpendGuard()
    waf: WafConfig = WafConfig()  # the edge stack's web ACL (waf_config.py)
    access_logs: bool = False  # ALB access logs to S3 (infrastructure stack)
    flow_logs: bool = False  # VPC flow logs to CloudWatch Logs (infrastructure stack)
    schedule: Schedule | None = None  # working hours (schedule_config.py); None: always on


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int
    path_patterns: tuple[str, ...]
    priority: int
    health_check_path: str
    cpu: int
    memory: int
    desired_count: int
    min_count: int
    max_count: int
    bedrock_models: tuple[str, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    cpu_target_percent: int = 60
    limits: tuple[tuple[str, int], ...] = ()  # (container variable, value), from [services.limits]
    secrets: tuple[Secret, ...] = ()  # container Secrets (ops_config.py)
    secrets_kms_key: str | None = None  # the customer KMS key those secrets are encrypted with, if any
    alarms: Alarms = Alarms()  # deployment alarm thresholds (service_alarms.py)
    extras: tuple[str, ...] = ()  # optional dependency groups its image installs (build argument EXTRAS)
    agent: AgentConfig | None = None  # [services.agent]: tools, limits, sessions (agent_config.py)
    capacity: str = "fargate"  # "fargate" | "spot" | "mixed" (capacity_config.py)
    arch: str = "x86_64"  # "x86_64" | "arm64"
    spot_base: int = 1  # on-demand tasks before Spot, with capacity = "mixed"


@dataclass(frozen=True)
class Config:
    project: str
    env: EnvConfig
    services: tuple[ServiceSpec, ...]
    source: Path = field(default=DEFAULT_CONFIG, compare=False)
    prefix_overridden: bool = False
    ci: CiConfig | None = None  # the [ci] table (ci_config.py); None: no ci stack

    @property
    def prefix(self) -> str:
        return self.env.prefix


def load_config(path: Path = DEFAULT_CONFIG, env: str = "dev", prefix: str | None = None) -> Config:
    """Read, validate and freeze one environment of the configuration file."""
    raw = _read_toml(path)
    where = path.name
    check_table(raw, TOP_FIELDS, where, "")
    envs = raw["environments"]
    for name in envs:  # before anything else: an environment's name becomes a folder
        checks.check_env_name(where, name)
    if env not in envs:
        known = ", ".join(sorted(envs)) or "none"
        raise ConfigError(f"{where}: environments.{env}: no such environment (expected one of: {known})")
    # Every environment is validated, not only the chosen one: a typo in prod fails in dev's CI.
    for name, table in envs.items():
        check_retired(table, where, f"environments.{name}")
        check_table(table, ENV_FIELDS | EDGE_FIELDS, where, f"environments.{name}")
        _, env_services = _environment(where, raw, name, table, None)
        check_environment(where, f"environments.{name}", table, env_services, path.resolve().parent)
    env_cfg, services = _environment(where, raw, env, envs[env], prefix)
    owners = [(f"environments.{n}.prefix", t["prefix"], t.get("account_id"))
              for n, t in envs.items() if n != env or prefix is None]
    if prefix is not None:
        owners.append(("--prefix", prefix, envs[env].get("account_id")))
    checks.check_prefixes_apart(where, owners, [s.name for s in services])
    for name in envs:  # every environment's view of [ci], like the environments themselves
        parse_ci(where, raw, name, list(envs), envs[name].get("account_id"))
    return Config(
        project=raw["project"],
        env=env_cfg,
        services=services,
        source=path,
        prefix_overridden=prefix is not None and prefix != envs[env]["prefix"],
        ci=parse_ci(where, raw, env, list(envs), envs[env].get("account_id")),
    )


def environment_names(path: Path = DEFAULT_CONFIG) -> list[str]:
    raw = _read_toml(path)
    envs = raw.get("environments")
    return sorted(envs) if isinstance(envs, dict) else []


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (pass --config PATH or create platform.toml)") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory (expected --config to name a TOML file)") from None
    except OSError as exc:  # permissions, a broken link, an unreadable device
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc} (expected a readable TOML file)") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path.name}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}; "
                          "expected a UTF-8 encoded TOML file)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None


def _environment(where: str, raw: dict[str, Any], name: str, table: dict[str, Any],
                 prefix: str | None) -> tuple[EnvConfig, tuple[ServiceSpec, ...]]:
    """One environment and its services, validated together: names depend on the prefix."""
    env_cfg = _env(where, name, table, prefix)
    services = _services(where, raw["services"], name, table.get("services", {}))
    source = "--prefix" if prefix is not None else f"environments.{name}.prefix"
    for i, spec in enumerate(services):
        checks.check_physical_names(where, f"services[{i}]", env_cfg.prefix, spec.name, source)
    check_browser(where, env_cfg, services)  # Nova Act's region and name limit (agent_browser.py)
    return env_cfg, services


def _env(where: str, name: str, t: dict[str, Any], prefix: str | None) -> EnvConfig:
    key = f"environments.{name}"
    chosen = prefix if prefix is not None else t["prefix"]
    checks.check_prefix("--prefix" if prefix is not None else f"{where}: {key}.prefix", chosen)
    checks.check_region(where, f"{key}.region", t["region"])
    check_access_logs(where, key, t["region"], t.get("access_logs", False))
    _check_cidr(where, f"{key}.vpc_cidr", t["vpc_cidr"], t.get("az_count", 2))
    return EnvConfig(
        name=name,
        prefix=chosen,
        region=t["region"],
        account_id=t.get("account_id"),
        vpc_cidr=t["vpc_cidr"],
        az_count=t.get("az_count", 2),
        nat=t.get("nat", "single"),
        log_retention_days=t.get("log_retention_days", 30),
        deletion_protection=t.get("deletion_protection", False),
        edge=parse_edge(where, key, t, t.get("az_count", 2)),
        waf=parse_waf(where, name, t.get("waf"), t.get("production", False)),
        access_logs=t.get("access_logs", False),
        flow_logs=t.get("flow_logs", False),
        schedule=parse_schedule(where, f"{key}.schedule", t.get("schedule")),
        **env_security(where, key, t, chosen),
    )


def _check_cidr(where: str, key: str, value: str, az_count: int) -> None:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        raise ConfigError(
            f"{where}: {key}: {value!r} is not a valid IPv4 CIDR block (expected e.g. \"10.0.0.0/16\")"
        ) from None
    checks.check_private_cidr(where, key, net)
    # VPCs accept /16 to /28; every AZ needs a public and a private subnet of at least /28.
    needed_bits = math.ceil(math.log2(2 * az_count))
    if not 16 <= net.prefixlen <= 28 - needed_bits:
        raise ConfigError(
            f"{where}: {key}: {value!r} has prefix /{net.prefixlen} "
            f"(expected /16 to /{28 - needed_bits} for {az_count} AZs)"
        )


def _apply_overrides(where: str, items: list[dict[str, Any]], env: str,
                     overrides: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Each service table merged with its environment's sizing overrides, labelled for errors."""
    for i, t in enumerate(items):
        check_table(t, SERVICE_FIELDS, where, f"services[{i}]")
        _check_service_table(where, f"services[{i}]", t)
    checks.check_distinct_names(where, ((f"services[{i}]", t["name"]) for i, t in enumerate(items)))
    names = [t["name"] for t in items]
    for name, table in overrides.items():
        key = f"environments.{env}.services.{name}"
        if name not in names:
            raise ConfigError(f"{where}: {key}: no such service (expected one of: {', '.join(names)})")
        check_table(table, OVERRIDE_FIELDS, where, key)
        checks.check_env_vars(where, key, table.get("environment", {}))
        check_secret_names(where, key, table.get("environment", {}))
    merged = []
    for i, t in enumerate(items):
        extra = overrides.get(t["name"], {})
        label = f"services[{i}] with environments.{env}.services.{t['name']}" if extra else f"services[{i}]"
        env_vars = {**t.get("environment", {}), **extra.get("environment", {})}
        limits = {**t.get("limits", {}), **extra.get("limits", {})}
        secrets = {**t.get("secrets", {}), **extra.get("secrets", {})}
        alarms = {**t.get("alarms", {}), **extra.get("alarms", {})}
        merged.append((label, {**t, **extra, "environment": env_vars, "limits": limits, "secrets": secrets,
                               "alarms": alarms, **merged_agent(t, extra)}))
    return merged


def _check_service_table(where: str, key: str, t: dict[str, Any]) -> None:
    """What AWS and the containers need of one [[services]] entry, beyond its keys' types."""
    checks.check_service_name(where, key, t["name"])
    checks.check_port(where, key, t["port"])
    checks.check_path_patterns(where, key, t["path_patterns"])
    checks.check_env_vars(where, key, t.get("environment", {}))
    check_secret_names(where, key, t.get("environment", {}))


def _services(where: str, items: list[dict[str, Any]], env: str,
              overrides: dict[str, dict[str, Any]]) -> tuple[ServiceSpec, ...]:
    specs = []
    seen_names: dict[str, int] = {}
    seen_priorities: dict[int, str] = {}
    seen_paths: dict[str, str] = {}
    for i, (key, t) in enumerate(_apply_overrides(where, items, env, overrides)):
        spec = _service(where, key, t)
        if spec.name in seen_names:
            raise ConfigError(f"{where}: {key}.name: duplicate service name {spec.name!r} "
                              f"(already used by services[{seen_names[spec.name]}]; names must be unique)")
        if spec.priority in seen_priorities:
            raise ConfigError(f"{where}: {key}.priority: listener priority {spec.priority} is already used by "
                              f"{seen_priorities[spec.priority]!r} (expected a unique priority per service)")
        for pattern in spec.path_patterns:
            if pattern in seen_paths:
                raise ConfigError(f"{where}: {key}.path_patterns: {pattern!r} is already routed to "
                                  f"{seen_paths[pattern]!r} (expected each path pattern once)")
            seen_paths[pattern] = spec.name
        seen_names[spec.name] = i
        seen_priorities[spec.priority] = spec.name
        specs.append(spec)
    return tuple(specs)


def _service(where: str, key: str, t: dict[str, Any]) -> ServiceSpec:
    cpu, memory = t["cpu"], t["memory"]
    if cpu not in FARGATE_SIZES or memory not in FARGATE_SIZES[cpu]:
        allowed = ", ".join(str(c) for c in FARGATE_SIZES)
        hint = (f"memory {FARGATE_SIZES[cpu].start}-{FARGATE_SIZES[cpu].stop - 1} step {FARGATE_SIZES[cpu].step}"
                if cpu in FARGATE_SIZES else f"cpu one of {allowed}")
        raise ConfigError(f"{where}: {key}.cpu/memory: Fargate does not accept cpu={cpu} with memory={memory} "
                          f"(expected {hint})")
    lo, hi, desired = t["min_count"], t["max_count"], t["desired_count"]
    if not lo <= desired <= hi:
        raise ConfigError(f"{where}: {key}.desired_count: {desired} is outside min_count..max_count "
                          f"(expected {lo} <= desired_count <= {hi})")
    env = t.get("environment", {})
    return ServiceSpec(
        name=t["name"],
        port=t["port"],
        path_patterns=tuple(t["path_patterns"]),
        priority=t["priority"],
        health_check_path=t["health_check_path"],
        cpu=cpu,
        memory=memory,
        desired_count=desired,
        min_count=lo,
        max_count=hi,
        bedrock_models=tuple(t.get("bedrock_models", ())),
        environment=tuple(sorted(env.items())),
        cpu_target_percent=t.get("cpu_target_percent", 60),
        limits=parse_limits(where, key, t),
        secrets=parse_secrets(where, key, t),
        secrets_kms_key=parse_kms_key(where, key, t),
        alarms=parse_alarms(where, key, t),
        extras=tuple(t.get("extras", ())),
        agent=parse_agent(where, key, t),
        **parse_capacity(where, key, t),
    )

