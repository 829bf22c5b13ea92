"""templates/ is the golden directory: what the generators produce must be what is committed."""

from __future__ import annotations

import pytest

from generators.config import environment_names, load_config
from generators.synth import render, template_dir

ENVS = environment_names()


@pytest.mark.parametrize("env", ENVS)
def test_committed_templates_match_generators(env: str) -> None:
    cfg = load_config(env=env)
    result_dir = template_dir(cfg)
    problems = []
    for stack, text in render(cfg).items():
        path = result_dir / f"{stack}.json"
        committed = path.read_text(encoding="utf-8") if path.exists() else ""
        if committed != text:
            import difflib

            problems.append("".join(difflib.unified_diff(
                committed.splitlines(True), text.splitlines(True), f"{path} (committed)", f"{path} (generated)",
            )))
    extra = {p.name for p in result_dir.glob("*.json")} - {f"{s}.json" for s in render(cfg)}
    assert not extra, f"templates/{env} has files no generator writes: {sorted(extra)}"
    assert not problems, (
        "\n".join(problems) + f"\nRefresh with: python deploy.py --synth --env {env} (then commit templates/)"
    )


def test_every_environment_has_committed_templates() -> None:
    assert set(ENVS) >= {"dev", "prod"}
    for env in ENVS:
        cfg = load_config(env=env)
        edge = ["edge"] if cfg.env.waf.enabled else []  # the WAF web ACL, where it is on
        assert sorted(p.stem for p in template_dir(cfg).glob("*.json")) == sorted(
            ["infrastructure", "registry", "app-api", "inference-api", "frontend", "auth", "alerts", "ci", *edge]
        )
