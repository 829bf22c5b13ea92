"""The glob dialect that GitHub's path filters and Docker's ignore files share.

Not a test module; uniquely named so it cannot collide with the rest of tests/ (tests/conftest.py
puts this directory on sys.path, for tests/services too).
"""

from __future__ import annotations

import re


def glob_regex(pattern: str) -> re.Pattern[str]:
    """`*` and `?` stay within one path element, `**` crosses them; anchored at both ends."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")
