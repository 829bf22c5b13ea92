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


def test_kept_lint_results_are_the_findings_of_that_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cfn-lint's results are kept between runs (lint_support.cfn_lint_texts): a kept result must be the
    same findings a lint of that text gives, and another text must be linted, not served a kept result."""
    from lint_support import cfn_lint_texts

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    bad = json.dumps({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketNam": "x"}}}})
    first = cfn_lint_texts(bad, ["us-east-1"])
    assert first and any("BucketNam" in line for line in first), first
    [kept] = list((tmp_path / "layered-platform-tests" / "cfn-lint").glob("*.json"))
    assert json.loads(kept.read_text()) == first
    assert cfn_lint_texts(bad, ["us-east-1"]) == first  # read back from the kept file
    fixed = bad.replace("BucketNam", "BucketName")
    assert cfn_lint_texts(fixed, ["us-east-1"]) != first
    assert len(list(kept.parent.glob("*.json"))) == 2


def test_a_kept_checkov_report_is_only_for_the_same_files_and_checkov(tmp_path: Path) -> None:
    """checkov's report is kept between runs (template_sets.checkov_key): another byte in any file, another
    file name or another checkov version is another key; a checkov whose version cannot be read keeps none."""
    from template_sets import checkov_key

    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "lib" / "python3.11" / "site-packages" / "checkov-3.2.0.dist-info").mkdir(parents=True)
    checkov = venv / "bin" / "checkov"
    checkov.touch()
    (tmp_path / "checkov" / "dev").mkdir(parents=True)
    template = tmp_path / "checkov" / "dev" / "registry.json"
    template.write_text('{"Resources": {}}')
    key = checkov_key(tmp_path, str(checkov))
    assert key is not None and key == checkov_key(tmp_path, str(checkov))
    template.write_text('{"Resources": {} }')
    assert checkov_key(tmp_path, str(checkov)) not in (None, key)
    template.write_text('{"Resources": {}}')
    template.rename(template.with_name("frontend.json"))
    assert checkov_key(tmp_path, str(checkov)) not in (None, key)
    template.with_name("frontend.json").rename(template)
    (venv / "lib" / "python3.11" / "site-packages" / "checkov-3.2.0.dist-info").rename(
        venv / "lib" / "python3.11" / "site-packages" / "checkov-3.2.1.dist-info")
    assert checkov_key(tmp_path, str(checkov)) not in (None, key)
    (venv / "lib" / "python3.11" / "site-packages" / "checkov-3.2.1.dist-info").rmdir()
    assert checkov_key(tmp_path, str(checkov)) is None
