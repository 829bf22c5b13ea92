"""Errors that end a command with exit status 2 and one line: `error: <what> — <what to do>`."""

from __future__ import annotations


class UsageError(Exception):
    """Bad usage, bad configuration or a failed pre-flight check: nothing was changed."""
