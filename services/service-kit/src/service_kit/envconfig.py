"""Read typed settings from environment variables, collecting every problem before failing."""

from __future__ import annotations

import re
from collections.abc import Mapping

LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class ConfigError(ValueError):
    """One or more environment variables are invalid; the message names each of them."""


class EnvReader:
    """Typed getters over an environment mapping; errors accumulate until `check()`."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._env = environ
        self._errors: list[str] = []

    def _raw(self, name: str) -> str | None:
        value = self._env.get(name)
        # An empty variable is how a CloudFormation template says "not set".
        return value.strip() if value is not None and value.strip() else None

    def _fail(self, name: str, expected: str, raw: str) -> None:
        self._errors.append(f"{name} must be {expected} (got {raw!r})")

    def text(self, name: str, default: str, pattern: str = r"\S+", max_len: int = 256) -> str:
        raw = self._raw(name)
        if raw is None:
            return default
        if len(raw) > max_len or not re.fullmatch(pattern, raw):
            self._fail(name, f"a string matching {pattern} of at most {max_len} characters", raw)
            return default
        return raw

    def optional_text(self, name: str, pattern: str = r"\S+", max_len: int = 256) -> str | None:
        return self.text(name, "", pattern, max_len) or None

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        raw = self._raw(name)
        if raw is None:
            return default
        if not re.fullmatch(r"[+-]?\d+", raw) or not minimum <= int(raw) <= maximum:
            self._fail(name, f"an integer from {minimum} to {maximum}", raw)
            return default
        return int(raw)

    def number(self, name: str, default: float | None, minimum: float, maximum: float) -> float | None:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not minimum <= value <= maximum:  # NaN fails this comparison too
            self._fail(name, f"a number from {minimum:g} to {maximum:g}", raw)
            return default
        return value

    def log_level(self, name: str = "LOG_LEVEL", default: str = "INFO") -> str:
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.upper() not in LOG_LEVELS:
            self._fail(name, "one of " + ", ".join(LOG_LEVELS), raw)
            return default
        return raw.upper()

    def check(self) -> None:
        if self._errors:
            raise ConfigError("invalid configuration: " + "; ".join(self._errors))
