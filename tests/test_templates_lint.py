"""cfn-lint (as a library) and checkov (in its own virtual environment) on every committed template.

Both run once per test run over every template set (tests/template_sets.py); these tests read the
committed sets' share of the reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from template_sets import COMMITTED, cfn_lint_findings, checkov_findings

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "templates").glob("*/*.json"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_cfn_lint_finds_nothing(path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Informational rules too, in us-east-1 and eu-west-1: a finding of any level is either fixed or
    # justified next to the resource.
    matches = cfn_lint_findings(tmp_path_factory, path.parent.name, path.stem)
    assert not matches, "\n".join(matches)


@pytest.mark.parametrize("env", COMMITTED)
def test_checkov_passes_with_only_justified_skips(env: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    failed, passed, stderr = checkov_findings(tmp_path_factory, env)
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert passed > 50, f"checkov checked suspiciously little ({passed} passed): {stderr}"


def test_every_checkov_skip_is_justified() -> None:
    for path in TEMPLATES:
        for logical_id, res in json.loads(path.read_text())["Resources"].items():
            for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert len(skip.get("comment", "")) > 30, f"{path.name} {logical_id} {skip['id']}: say why"
