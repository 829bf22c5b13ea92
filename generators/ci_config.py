"""The top-level [ci] table: which GitHub repository may assume the pipeline roles, and whether the
account's GitHub OIDC identity provider already exists.

    [ci]
    repository = "owner/name"                 # pins every role's trust policy to this repository
    oidc_provider_arn = "arn:aws:iam::...:oidc-provider/token.actions.githubusercontent.com"   # optional

An account has at most one provider for a given URL. Without `oidc_provider_arn`, the `ci` stack
of the first environment (in file order) of each account creates it; the others in the same
account refer to it by its fixed ARN. Environments "share an account" when their `account_id`
is equal, or both unset. Set `oidc_provider_arn` when the provider exists already (made by hand,
or by another project): then no `ci` stack creates one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .schema import ConfigError, Field, _matches, check_table

# GitHub's own rules for owner (1-39 of letters, digits, single hyphens) and repository names
# (letters, digits, `.`, `-`, `_`; `.` and `..` are not names). Case is kept: the token's `sub`
# carries the repository as GitHub spells it, and IAM compares it case-sensitively.
REPOSITORY = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}/(?!\.\.?$)[A-Za-z0-9._-]{1,100}"
OIDC_ARN = r"arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com"

CI_FIELDS: dict[str, Field] = {
    "repository": Field("str", True, _matches(REPOSITORY, 'the GitHub repository as "owner/name"')),
    "oidc_provider_arn": Field("str", False, _matches(
        OIDC_ARN, "the ARN of an existing IAM OIDC provider for token.actions.githubusercontent.com")),
}


@dataclass(frozen=True)
class CiConfig:
    repository: str
    oidc_provider_arn: str | None = None
    creates_provider: bool = False  # this environment's ci stack creates the account's provider


def parse_ci(where: str, raw: dict[str, Any], env: str) -> CiConfig | None:
    """The [ci] table for environment `env`, or None when the configuration has none."""
    table = raw.get("ci")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: ci: wrong type {type(table).__name__} (expected a table)")
    check_table(table, CI_FIELDS, where, "ci")
    arn = table.get("oidc_provider_arn")
    return CiConfig(table["repository"], arn, creates_provider=arn is None and _first_in_account(raw, env))


def _first_in_account(raw: dict[str, Any], env: str) -> bool:
    envs = raw["environments"]
    account = envs[env].get("account_id")
    return next(name for name, t in envs.items() if t.get("account_id") == account) == env
