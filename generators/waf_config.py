"""`[environments.<env>.waf]`: the web ACL in front of the distribution (the `edge` stack).

Parsed here, in a module of its own, so config.py only hands the table over. Every error is the
same one line as the rest of the configuration: file, key, what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .schema import ConfigError, Field, check_table

# AWS WAF's own limits for rate-based rules: at least 10 requests, counted over one of these windows.
MIN_RATE_LIMIT = 10
WINDOWS = (60, 120, 300, 600)


def _rate(v: int) -> str | None:
    return None if v >= MIN_RATE_LIMIT else f"at least {MIN_RATE_LIMIT} requests per window (AWS WAF's minimum)"


def _window(v: int) -> str | None:
    return None if v in WINDOWS else "one of " + ", ".join(str(w) for w in WINDOWS) + " seconds (AWS WAF's windows)"


WAF_FIELDS: dict[str, Field] = {
    "enabled": Field("bool", False),
    "inference_rate_limit": Field("int", False, _rate),
    "rate_limit": Field("int", False, _rate),
    "window_seconds": Field("int", False, _window),
}


@dataclass(frozen=True)
class WafConfig:
    """Per-IP request budgets over one window: a tight one for /inference/* (each request can cost
    Bedrock tokens) and a looser one for everything, site assets included."""

    enabled: bool = False
    inference_rate_limit: int = 100
    rate_limit: int = 1000
    window_seconds: int = 300


def parse_waf(where: str, env: str, table: dict[str, Any] | None, production: bool = False) -> WafConfig:
    """On by default where `production = true`; `enabled` switches it either way."""
    key = f"environments.{env}.waf"
    t = table or {}
    check_table(t, WAF_FIELDS, where, key)
    cfg = WafConfig(
        enabled=t.get("enabled", production),
        inference_rate_limit=t.get("inference_rate_limit", WafConfig.inference_rate_limit),
        rate_limit=t.get("rate_limit", WafConfig.rate_limit),
        window_seconds=t.get("window_seconds", WafConfig.window_seconds),
    )
    if cfg.inference_rate_limit > cfg.rate_limit:
        raise ConfigError(f"{where}: {key}.inference_rate_limit: {cfg.inference_rate_limit} is above rate_limit "
                          f"{cfg.rate_limit} (expected the /inference/* limit to be the tighter one)")
    return cfg
