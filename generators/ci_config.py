"""The top-level [ci] table of platform.toml: which GitHub repository the pipelines' roles trust.

    [ci]
    repository = "owner/name"                   # the only repository whose tokens the roles accept
    oidc_provider_arn = "arn:aws:iam::...:oidc-provider/token.actions.githubusercontent.com"
    [ci.environments.<env>]                     # per environment (its own account may differ)
    oidc_provider_arn = "arn:..."

IAM allows one OIDC provider per URL and account, so only one `ci` stack per account may create
it; a second environment in the same account reuses it by ARN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .schema import ConfigError, Field, _matches, check_table

# GitHub's rules: owner up to 39 characters (letters, digits, inner hyphens); repository names of
# letters, digits, '.', '_' and '-'. Anything else would never match a token's `sub` claim.
REPOSITORY = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?/[A-Za-z0-9._-]{1,100}"
OIDC_ARN = r"arn:aws[a-z-]*:iam::(\d{12}):oidc-provider/token\.actions\.githubusercontent\.com"
_OIDC = _matches(OIDC_ARN, "the ARN of an IAM OIDC provider for token.actions.githubusercontent.com")

CI_FIELDS: dict[str, Field] = {
    "repository": Field("str", True, _matches(REPOSITORY, "\"owner/name\", the GitHub repository")),
    "oidc_provider_arn": Field("str", False, _OIDC),
    "environments": Field("table-map", False),
}
CI_ENV_FIELDS: dict[str, Field] = {"oidc_provider_arn": Field("str", False, _OIDC)}


@dataclass(frozen=True)
class CiConfig:
    repository: str
    oidc_provider_arn: str | None = None  # None: the ci stack creates the provider

    def subject(self, environment: str) -> str:
        """The token `sub` GitHub issues to a job that runs in that GitHub environment."""
        return f"repo:{self.repository}:environment:{environment}"


def parse_ci(where: str, raw: dict[str, Any], env: str, env_names: list[str],
             account_id: str | None) -> CiConfig | None:
    """The selected environment's view of [ci]; None when the table is absent (no ci stack)."""
    if "ci" not in raw:
        return None
    table = raw["ci"]
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: ci: wrong type {type(table).__name__} (expected a table)")
    check_table(table, CI_FIELDS, where, "ci")
    per_env = table.get("environments", {})
    for name, sub in per_env.items():
        if name not in env_names:
            raise ConfigError(f"{where}: ci.environments.{name}: no such environment "
                              f"(expected one of: {', '.join(sorted(env_names))})")
        check_table(sub, CI_ENV_FIELDS, where, f"ci.environments.{name}")
    key, arn = "ci.oidc_provider_arn", table.get("oidc_provider_arn")
    if "oidc_provider_arn" in per_env.get(env, {}):
        key, arn = f"ci.environments.{env}.oidc_provider_arn", per_env[env]["oidc_provider_arn"]
    if arn and account_id and arn.split(":")[4] != account_id:
        raise ConfigError(f"{where}: {key}: the provider is in account {arn.split(':')[4]}, but environment "
                          f"{env} is account {account_id} (expected a provider of that account, or "
                          f"set ci.environments.{env}.oidc_provider_arn)")
    return CiConfig(repository=table["repository"], oidc_provider_arn=arn)
