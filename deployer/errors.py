"""Errors that end a command with exit status 2 and one line: `error: <what> — <what to do>`."""

from __future__ import annotations


class UsageError(Exception):
    """Bad usage, bad configuration or a failed pre-flight check: nothing was changed."""


class Declined(Exception):
    """A question was answered no (or could not be asked): nothing was changed by it (exit status 4)."""



class Failed(Exception):
    """A step failed after changes may have begun: one line, exit status 1, a rerun converges."""
