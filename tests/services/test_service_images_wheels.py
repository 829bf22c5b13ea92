"""Each service as a built wheel, installed alone into a fresh environment outside the source
tree, started the way the image starts it, called over real HTTP, then stopped with SIGTERM.

This is the check that catches what the in-process tests cannot: a missing dependency in
pyproject.toml, an absolute import that only works from the source tree, a module left out
of the wheel, a console script that does not start.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Callable
from email.parser import Parser
from pathlib import Path

import pytest
from dockerfile_parse import healthcheck_command, parse
from services_testkit import (
    ALL_SERVICES,
    Service,
    free_port,
    fresh_venv,
    json_lines,
    offline_env,
    pip_into,
    stop,
    wait_for_http,
)

IDS = [s.name for s in ALL_SERVICES]


def wheel_of(service: Service, wheelhouse: Path) -> Path:
    [wheel] = wheelhouse.glob(f"{service.package}-*.whl")
    return wheel


@pytest.mark.parametrize("service", ALL_SERVICES, ids=IDS)
def test_wheel_holds_every_module_and_the_declared_dependencies(
    service: Service, wheelhouse: Callable[[Service], Path]
) -> None:
    with zipfile.ZipFile(wheel_of(service, wheelhouse(service))) as wheel:
        names = set(wheel.namelist())
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(wheel.read(metadata).decode())
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = wheel.read(entry_points).decode()
    sources = {p.relative_to(service.directory / "src").as_posix() for p in service.directory.glob("src/**/*.py")}
    assert sources <= names
    assert f"{service.name} = {service.package}.__main__:main" in scripts
    requires = meta.get_all("Requires-Dist") or []
    assert any(r.startswith("fastapi") for r in requires) and any(r.startswith("uvicorn") for r in requires)
    if service.package == "inference_api":
        assert "agentcore" in (meta.get_all("Provides-Extra") or [])
        assert any(r.startswith("strands-agents") and 'extra == "agentcore"' in r for r in requires)


@pytest.mark.parametrize("service", ALL_SERVICES, ids=IDS)
def test_installed_wheel_serves_health_and_stops_cleanly_on_sigterm(
    service: Service, tmp_path: Path, wheelhouse: Callable[[Service], Path]
) -> None:
    house = wheelhouse(service)
    python = fresh_venv(tmp_path / "venv")
    pip_into(python, service.name, env=offline_env(house))
    port = free_port()
    env = {"PATH": f"{python.parent}:/usr/bin:/bin", "HOST": "127.0.0.1", "PORT": str(port), "IMAGE_TAG": "wheel-test"}
    process = subprocess.Popen(
        [str(python.parent / service.name)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = json.loads(wait_for_http(f"http://127.0.0.1:{port}{service.health_path}", process))
        # The image's HEALTHCHECK probe, run as Docker would run it inside the container.
        probe = subprocess.run(healthcheck_command(parse(service.directory / "Dockerfile")[-1]), env=env, timeout=10)
    finally:
        status, out, err = stop(process)
    assert (body["status"], body["service"], body["version"], body["image_tag"]) == (
        "ok",
        service.name,
        "0.1.0",
        "wheel-test",
    )
    assert probe.returncode == 0
    assert status == 0, err
    lines = json_lines(out)
    assert err == "", "everything goes to stdout as JSON"
    assert any(line.get("path") == service.health_path and line.get("status") == 200 for line in lines)
    messages = [line["message"] for line in lines]
    assert "started" in messages and "stopped" in messages, messages
