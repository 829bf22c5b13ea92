"""Sign-in, spend guard and service limits in platform.toml, validated in one place.

Parsed here, hooked into config.py with one line each, so the rest of the configuration
code does not grow with these tables:
- `production` and `[environments.<env>.auth]`: who signs users in (Cognito, an external
  OIDC issuer, or nobody: explicitly, and never silently in a production environment);
- `[environments.<env>.spend_guard]`: daily Bedrock token alarms, their e-mails, a budget;
- `[services.limits]` (and `[environments.<env>.services.<name>.limits]`): hard ceilings
  handed to the container as environment variables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .schema import Check, ConfigError, Field, check_table

PROVIDERS = ("cognito", "oidc", "off")
ADVANCED_SECURITY = ("OFF", "AUDIT", "ENFORCED")
OIDC_KEYS = ("issuer", "audience", "client_id", "authorize_url", "token_url")
# Cognito rejects a domain prefix holding any of these words.
COGNITO_FORBIDDEN_WORDS = ("aws", "amazon", "cognito")
EMAIL_RE = re.compile(r"[^@\s\"'<>,;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")

# [services.limits] key -> the container variable the services read (a contract with service-kit).
LIMIT_ENV = {
    "max_body_bytes": "MAX_BODY_BYTES",
    "max_output_tokens": "BEDROCK_MAX_TOKENS",
    "max_input_chars": "BEDROCK_MAX_INPUT_CHARS",
    "max_messages": "BEDROCK_MAX_MESSAGES",
    "max_streams_per_user": "MAX_STREAMS_PER_USER",
}
# AUTH_JWKS_URL too: where a service fetches its signing keys is as much a sign-in setting as the issuer.
AUTH_ENV = ("AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_JWKS_URL", "AUTH_DISABLED")
# Set by the platform from the tables above; `environment` must not be able to undo them.
RESERVED_ENV = {**{v: f"limits.{k}" for k, v in LIMIT_ENV.items()},
                **dict.fromkeys(AUTH_ENV, "[environments.<env>.auth]")}


def _positive(v: int) -> str | None:
    return None if v > 0 else "a whole number above 0"


def _between(lo: int, hi: int) -> Check:
    return lambda v: None if lo <= v <= hi else f"{lo}..{hi}"


def _one_of(*options: str) -> Check:
    return lambda v: None if v in options else " or ".join(repr(o) for o in options)


def _https_url(v: str) -> str | None:
    ok = re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d{1,5})?(/[^\s?#]*)?", v)
    return None if ok else "an https:// URL without query or fragment"


def _domain_prefix(v: str) -> str | None:
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", v):
        return "lower-case letters, digits and inner dashes, at most 63"
    bad = [w for w in COGNITO_FORBIDDEN_WORDS if w in v]
    return f"no {bad[0]!r} in it (Cognito rejects it)" if bad else None


def _emails(values: list[str]) -> str | None:
    bad = [v for v in values if not EMAIL_RE.fullmatch(v)]
    if bad:
        return f"e-mail addresses; {bad[0]!r} is not one"
    seen = [v.lower() for v in values]
    if len(set(seen)) < len(seen):
        return f"each address once; {next(v for v in values if seen.count(v.lower()) > 1)!r} is repeated"
    return None if len(values) <= 10 else "at most 10 addresses (an AWS Budgets notification limit)"


AUTH_FIELDS: dict[str, Field] = {
    "provider": Field("str", False, _one_of(*PROVIDERS)),
    "issuer": Field("str", False, _https_url),
    "audience": Field("str", False),
    "client_id": Field("str", False),
    "authorize_url": Field("str", False, _https_url),
    "token_url": Field("str", False, _https_url),
    "domain_prefix": Field("str", False, _domain_prefix),
    "self_sign_up": Field("bool", False),
    "advanced_security": Field("str", False, _one_of(*ADVANCED_SECURITY)),
    "deletion_protection": Field("bool", False),
    "access_token_minutes": Field("int", False, _between(5, 1440)),
    "refresh_token_days": Field("int", False, _between(1, 3650)),
    "allow_off_in_production": Field("bool", False),
}

SPEND_FIELDS: dict[str, Field] = {
    "daily_input_tokens": Field("int", False, _positive),
    "daily_output_tokens": Field("int", False, _positive),
    "alarm_emails": Field("str-list", False, _emails),
    "monthly_budget_usd": Field("int", False, _positive),
    "budget_services": Field("str-list", False, lambda v: None if v else "at least one Cost Explorer service name"),
}

LIMIT_FIELDS: dict[str, Field] = {k: Field("int", False, _positive) for k in LIMIT_ENV}


@dataclass(frozen=True)
class AuthConfig:
    provider: str = "cognito"
    issuer: str | None = None
    audience: str | None = None
    client_id: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    domain_prefix: str = ""  # Cognito hosted domain: <domain_prefix>.auth.<region>.amazoncognito.com
    self_sign_up: bool = False
    advanced_security: str = "OFF"
    deletion_protection: bool = False
    access_token_minutes: int = 60
    refresh_token_days: int = 1
    allow_off_in_production: bool = False

    @property
    def enabled(self) -> bool:
        return self.provider != "off"


@dataclass(frozen=True)
class SpendGuard:
    # Defaults: about a dollar or two a day on a small model; set them from your own traffic.
    daily_input_tokens: int = 2_000_000
    daily_output_tokens: int = 500_000
    alarm_emails: tuple[str, ...] = ()
    monthly_budget_usd: int | None = None
    # Third-party models are billed as AWS Marketplace products with service names of their own.
    budget_services: tuple[str, ...] = ("Amazon Bedrock",)


def env_security(where: str, key: str, t: dict[str, Any], prefix: str) -> dict[str, Any]:
    """EnvConfig's production/auth/spend_guard fields from one environment table."""
    production = t.get("production", False)
    return {
        "production": production,
        "auth": parse_auth(where, f"{key}.auth", t.get("auth", {}), prefix, production,
                           t.get("deletion_protection", False)),
        "spend_guard": parse_spend_guard(where, f"{key}.spend_guard", t.get("spend_guard", {})),
    }


def parse_auth(where: str, key: str, t: dict[str, Any], prefix: str, production: bool,
               deletion_protection: bool) -> AuthConfig:
    check_table(t, AUTH_FIELDS, where, key)
    provider = t.get("provider", "cognito")
    if provider == "off" and production and not t.get("allow_off_in_production", False):
        raise ConfigError(f"{where}: {key}.provider: \"off\" in a production environment leaves the APIs open "
                          "(expected \"cognito\" or \"oidc\", or allow_off_in_production = true to accept it)")
    if provider == "oidc":
        for name in ("issuer", "audience", "client_id"):
            if name not in t:
                raise ConfigError(f"{where}: {key}.{name}: missing for provider \"oidc\" "
                                  f"(expected the value your identity provider gives)")
    else:
        stray = [k for k in OIDC_KEYS if k in t]
        if stray:
            raise ConfigError(f"{where}: {key}.{stray[0]}: only used with provider \"oidc\" "
                              f"(provider is {provider!r}; remove it or set provider = \"oidc\")")
    if "domain_prefix" in t and provider != "cognito":
        raise ConfigError(f"{where}: {key}.domain_prefix: only used with provider \"cognito\" (remove it)")
    domain_prefix = t.get("domain_prefix", f"{prefix}-signin")
    if provider == "cognito" and (problem := _domain_prefix(domain_prefix)):
        raise ConfigError(f"{where}: {key}.domain_prefix: the default {domain_prefix!r} is not accepted "
                          f"(expected {problem}; set domain_prefix)")
    return AuthConfig(
        provider=provider, **{k: t.get(k) for k in OIDC_KEYS}, domain_prefix=domain_prefix,
        self_sign_up=t.get("self_sign_up", False), advanced_security=t.get("advanced_security", "OFF"),
        deletion_protection=t.get("deletion_protection", deletion_protection),
        access_token_minutes=t.get("access_token_minutes", 60), refresh_token_days=t.get("refresh_token_days", 1),
        allow_off_in_production=t.get("allow_off_in_production", False),
    )


def parse_spend_guard(where: str, key: str, t: dict[str, Any]) -> SpendGuard:
    check_table(t, SPEND_FIELDS, where, key)
    emails = tuple(t.get("alarm_emails", ()))
    if "monthly_budget_usd" in t and not emails:
        raise ConfigError(f"{where}: {key}.alarm_emails: missing, but monthly_budget_usd is set "
                          "(expected at least one address for the budget to notify)")
    defaults = SpendGuard()
    return SpendGuard(
        daily_input_tokens=t.get("daily_input_tokens", defaults.daily_input_tokens),
        daily_output_tokens=t.get("daily_output_tokens", defaults.daily_output_tokens),
        alarm_emails=emails,
        monthly_budget_usd=t.get("monthly_budget_usd"),
        budget_services=tuple(t.get("budget_services", defaults.budget_services)),
    )


def parse_limits(where: str, key: str, t: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    """(container variable, value) for each limit set; the environment may not set them itself."""
    env = t.get("environment", {})
    for name in sorted(env):
        if name in RESERVED_ENV:
            raise ConfigError(f"{where}: {key}.environment.{name}: reserved for the platform "
                              f"(expected it set through {RESERVED_ENV[name]})")
    limits = t.get("limits", {})
    check_table(limits, LIMIT_FIELDS, where, f"{key}.limits")
    return tuple(sorted((LIMIT_ENV[k], v) for k, v in limits.items()))


def identity_origins(auth: AuthConfig, region: str) -> tuple[str, ...]:
    """Origins the site's script talks to when signing in (token and discovery endpoints)."""
    if auth.provider == "cognito":
        return (f"https://{auth.domain_prefix}.auth.{region}.amazoncognito.com",
                f"https://cognito-idp.{region}.amazonaws.com")
    urls = [u for u in (auth.issuer, auth.token_url) if u]
    return tuple(dict.fromkeys(re.match(r"https://[^/]+", u).group(0) for u in urls))  # type: ignore[union-attr]
