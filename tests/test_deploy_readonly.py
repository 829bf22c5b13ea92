"""Read-only commands write nothing: not the committed templates when they differ from what the
configuration generates, and templates for another --config or --prefix go to build/ only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_support import REPO, Aws
from state_support import git_status

COMMITTED = REPO / "templates" / "dev" / "app-api.json"


@pytest.fixture
def edited() -> Iterator[str]:
    """A committed template that no longer matches the configuration (as after editing platform.toml)."""
    original = COMMITTED.read_text(encoding="utf-8")
    changed = original.replace('"Description"', '"Description" ', 1)
    COMMITTED.write_text(changed, encoding="utf-8")
    try:
        yield changed
    finally:
        COMMITTED.write_text(original, encoding="utf-8")


@pytest.mark.parametrize("args", [["--status"], ["--stack", "app-api", "--plan"], ["--cost"], ["--graph"],
                                  ["--status", "--output", "json"]])
def test_read_only_commands_never_rewrite_committed_templates(aws: Aws, edited: str, args: list[str]) -> None:
    before = git_status()
    done = aws.deploy(*args)
    assert done.returncode in (0, 2, 3), done.stdout + done.stderr
    assert COMMITTED.read_text(encoding="utf-8") == edited
    assert git_status() == before
    if "--status" in args:
        # --status reads the committed templates as they are (no generator runs, for speed): nothing to warn about.
        assert done.returncode == 0 and "warning" not in done.stdout + done.stderr, done.stderr
    elif "--plan" in args:
        assert "app-api.json in" in done.stderr and "without writing it" in done.stderr  # a warning, on stderr


@pytest.mark.parametrize("extra", [["--prefix", "other-x"], ["--config", "CONFIG"]])
def test_templates_for_anything_else_go_to_build(aws: Aws, tmp_path: Path, extra: list[str]) -> None:
    config = tmp_path / "platform.toml"
    config.write_text((REPO / "platform.toml").read_text().replace("desired_count = 1", "desired_count = 1 "))
    args = [str(config) if a == "CONFIG" else a for a in extra]
    before = git_status()
    done = aws.deploy("--synth", *args)
    assert done.returncode == 0, done.stderr
    assert "build/templates/dev/" in done.stdout + done.stderr
    assert git_status() == before
