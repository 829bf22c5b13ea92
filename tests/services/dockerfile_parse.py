"""A small Dockerfile reader: enough to replay the builder stage and check the final one.

Not a test module; uniquely named so it cannot collide with the rest of tests/.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from path_globs import glob_regex  # Docker's ignore globs are GitHub's filter globs


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]

    def one(self, keyword: str) -> str:
        [args] = self.all(keyword)
        return args

    def env(self) -> dict[str, str]:
        """ENV key=value pairs (the only ENV form our Dockerfiles use)."""
        pairs = [shlex.split(args) for args in self.all("ENV")]
        return dict(pair.split("=", 1) for words in pairs for pair in words)

    def args_with_defaults(self) -> dict[str, str]:
        return dict(a.split("=", 1) for a in self.all("ARG") if "=" in a)


def logical_lines(text: str) -> list[str]:
    """Join backslash continuations; drop comments and blank lines (also inside continuations)."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    assert not pending, "Dockerfile ends inside a line continuation"
    return lines


def parse(path: Path) -> list[Stage]:
    stages: list[Stage] = []
    for line in logical_lines(path.read_text()):
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args, re.IGNORECASE)
            assert match, f"unexpected FROM: {args}"
            stages.append(Stage(base=match[1], name=match[2]))
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append(Instruction(keyword, args))
    return stages


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form CMD or HEALTHCHECK CMD."""
    value = json.loads(args)
    assert isinstance(value, list), f"not exec form: {args}"
    return value


def healthcheck_command(stage: Stage) -> list[str]:
    """The probe of `HEALTHCHECK [options] CMD [...]`."""
    healthcheck = stage.one("HEALTHCHECK")
    return exec_form(healthcheck[healthcheck.index("CMD") + 3 :].strip())


# --- the build context, as BuildKit filters it through a .dockerignore file ------------------


def ignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(excluded when matched, pattern) per line; `!` lines let a path back in."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            keep = line.startswith("!")
            cleaned = posixpath.normpath(line.lstrip("!").strip()).lstrip("/")
            rules.append((not keep, glob_regex(cleaned)))
    return rules


def is_ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """The last rule matching the path or one of its parent directories decides (moby's patternmatcher)."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for excludes, regex in rules:
        if any(regex.match(candidate) for candidate in candidates):
            ignored = excludes
    return ignored


def context_files(root: Path, ignore_file: Path) -> list[str]:
    """Every file of the build context rooted at `root` that the ignore file lets through."""
    rules = ignore_rules(ignore_file.read_text())
    files = (p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_file())
    return [f for f in files if not is_ignored(f, rules)]
