"""Each service and service-kit as built wheels, installed together into a fresh environment
outside the source tree, started the way the image starts it, called over real HTTP, then
stopped with SIGTERM.

This is the check that catches what the in-process tests cannot: a missing dependency in
pyproject.toml, an absolute import that only works from the source tree, a module left out
of the wheel, a console script that does not start.
"""

from __future__ import annotations

import configparser
import json
import subprocess
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest
from dockerfile_parse import healthcheck_command, parse
from services_testkit import (
    ALL_SERVICES,
    KIT_DIR,
    KIT_NAME,
    KIT_PACKAGE,
    NO_AUTH,
    Service,
    Wheelhouse,
    discard,
    free_port,
    fresh_venv,
    install_offline,
    json_lines,
    stop,
    wait_for_http,
)

IDS = [s.name for s in ALL_SERVICES]


def read_wheel(wheel: Path, source: Path) -> tuple[Message, str]:
    """Its metadata and entry points, after checking that every module of the source tree is in it."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(archive.read(metadata).decode())
        entry_points = [archive.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt")]
    sources = {p.relative_to(source / "src").as_posix() for p in source.glob("src/**/*.py")}
    assert sources and sources <= names, sources - names
    return meta, "".join(entry_points)


def test_kit_wheel_holds_every_module_and_brings_the_web_stack(wheelhouse: Wheelhouse) -> None:
    meta, _ = read_wheel(wheelhouse.wheel(KIT_PACKAGE), KIT_DIR)
    requires = meta.get_all("Requires-Dist") or []
    assert any(r.startswith("fastapi") for r in requires) and any(r.startswith("uvicorn") for r in requires)


@pytest.mark.parametrize("service", ALL_SERVICES, ids=IDS)
def test_wheel_holds_every_module_and_the_declared_dependencies(service: Service, wheelhouse: Wheelhouse) -> None:
    meta, scripts = read_wheel(wheelhouse.wheel(service.package), service.directory)
    entry_points = configparser.ConfigParser()  # the INI format of entry_points.txt (spacing is the backend's)
    entry_points.read_string(scripts)
    assert entry_points["console_scripts"][service.name].strip() == f"{service.package}.__main__:main"
    requires = meta.get_all("Requires-Dist") or []
    # By name only: a path or URL (`service-kit @ file:...`) would not resolve inside the image.
    [kit] = [r for r in requires if r.startswith(KIT_NAME)]
    assert "@" not in kit, kit
    if service.package == "inference_api":
        assert "agentcore" in (meta.get_all("Provides-Extra") or [])
        assert any(r.startswith("strands-agents") and 'extra == "agentcore"' in r for r in requires)


@pytest.mark.parametrize("service", ALL_SERVICES, ids=IDS)
def test_installed_wheel_serves_health_and_stops_cleanly_on_sigterm(
    service: Service, tmp_path: Path, wheelhouse: Wheelhouse
) -> None:
    python = fresh_venv(tmp_path / "venv")
    kit, wheel = wheelhouse.wheel(KIT_PACKAGE), wheelhouse.wheel(service.package)
    install_offline(python, wheelhouse.deps, kit, wheel, cache=wheelhouse.cache)
    port = free_port()
    env = {"PATH": f"{python.parent}:/usr/bin:/bin", "HOST": "127.0.0.1", "PORT": str(port), "IMAGE_TAG": "wheel-test"}
    env.update(NO_AUTH)  # the refusal without AUTH_ISSUER has its own test (test_sign_in.py)
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
        wait_for_http(f"http://127.0.0.1:{port}{service.ready_path}", process)  # the app itself answers from here
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
    discard(tmp_path / "venv")
