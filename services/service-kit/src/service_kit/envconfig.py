"""Read typed settings from environment variables, collecting every problem before failing."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import overload
from urllib.parse import urlsplit

LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
_TRUE = ("1", "true", "yes")
_FALSE = ("0", "false", "no")


class ConfigError(ValueError):
    """One or more environment variables are invalid; the message names each of them."""


class EnvReader:
    """Typed getters over an environment mapping; errors accumulate until `check()`."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._env = environ
        self._errors: list[str] = []

    def raw(self, name: str) -> str | None:
        """The trimmed value, None when unset or empty."""
        return self._raw(name)

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

    @overload
    def number(self, name: str, default: float, minimum: float, maximum: float) -> float: ...
    @overload
    def number(self, name: str, default: None, minimum: float, maximum: float) -> float | None: ...

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

    def flag(self, name: str, default: bool = False) -> bool:
        """`1`/`true`/`yes` or `0`/`false`/`no`, any case."""
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.lower() not in _TRUE + _FALSE:
            self._fail(name, "one of 1, true, yes, 0, false, no", raw)
            return default
        return raw.lower() in _TRUE

    def url(self, name: str) -> str | None:
        """An https:// URL; plain http:// only to a loopback address, which never leaves the host."""
        raw = self._raw(name)
        if raw is None:
            return None
        if len(raw) > 512 or not secure_url(raw):
            self._fail(name, "an https:// URL (http:// only for 127.0.0.1, ::1 or localhost)", raw)
            return None
        return raw

    def error(self, message: str) -> None:
        """A rule that spans several variables, reported with the rest."""
        self._errors.append(message)

    def check(self) -> None:
        if self._errors:
            raise ConfigError("invalid configuration: " + "; ".join(self._errors))


def secure_url(url: str) -> bool:
    """https:// with a host, or http:// to a loopback address (tests talk to a local issuer)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if not host or any(c.isspace() for c in url):
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and _loopback(host)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
