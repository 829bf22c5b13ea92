"""The inference image's browser step: Playwright's Chromium and its OS libraries, only with EXTRAS=...browser.

There is no Docker engine here. The final stage's RUN line is parsed out of the Dockerfile and run
by `sh` with its ENV and ARGs, `python`, `rm` and `chmod` replaced by recorders: what the step would
do for a given EXTRAS build argument is what they record (hadolint runs in the Dockerfile tests).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from dockerfile_parse import parse
from services_testkit import INFERENCE_API

RECORDER = '#!/bin/sh\necho "${0##*/} $*" >> "$CALLS"\n'


def final_stage_browser_step() -> tuple[str, dict[str, str]]:
    _, final = parse(INFERENCE_API.directory / "Dockerfile")
    steps = [r for r in final.all("RUN") if "playwright install" in r]
    assert len(steps) == 1, "the final stage installs the browser in exactly one RUN"
    run_at = [i.args for i in final.instructions].index(steps[0])
    user_at = [i.keyword for i in final.instructions].index("USER")
    assert run_at < user_at, "installed as root, before the image switches to the service's user"
    return steps[0], {**final.env(), **final.args_with_defaults()}


def replay(tmp_path: Path, extras: str | None) -> list[str]:
    step, env = final_stage_browser_step()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python", "rm", "chmod"):
        (bin_dir / name).write_text(RECORDER)
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls"
    run_env = {**env, "PATH": str(bin_dir), "CALLS": str(calls), "HOME": str(tmp_path)}
    if extras is not None:
        run_env["EXTRAS"] = extras
    result = subprocess.run(["/bin/sh", "-c", step], env=run_env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return calls.read_text().splitlines() if calls.exists() else []


@pytest.mark.parametrize("extras", ["browser", "agentcore,browser", "browser,agentcore"])
def test_the_browser_extra_installs_chromium_with_its_libraries_for_the_service_user(tmp_path: Path,
                                                                                    extras: str) -> None:
    calls = replay(tmp_path, extras)
    _, env = final_stage_browser_step()
    browsers = env["PLAYWRIGHT_BROWSERS_PATH"]
    assert browsers.startswith("/opt/"), "outside any home directory: the service user has none"
    assert calls[0] == "python -m playwright install --with-deps --no-shell chromium"
    # apt's index is not left in the layer (the glob expands to what this machine has there, if anything)
    assert calls[1].startswith("rm -rf /var/lib/apt/lists/")
    assert calls[-1] == f"chmod -R a+rX {browsers}"


@pytest.mark.parametrize("extras", [None, "", "agentcore", "browsers", "nobrowser", "agentcore,browser-x"])
def test_without_the_browser_extra_the_step_does_nothing(tmp_path: Path, extras: str | None) -> None:
    assert replay(tmp_path, extras) == []


def test_the_final_stage_takes_the_same_extras_argument_as_the_builder() -> None:
    builder, final = parse(INFERENCE_API.directory / "Dockerfile")
    assert "EXTRAS=" in builder.all("ARG") and "EXTRAS=" in final.all("ARG")
    assert os.path.basename(final.env()["PLAYWRIGHT_BROWSERS_PATH"]) == "ms-playwright"
