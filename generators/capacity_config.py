"""Where a service's tasks run: `capacity` (on-demand, Spot, or both) and `arch` (x86_64, arm64).

Per service in `[[services]]`, overridable in `[environments.<env>.services.<name>]`:
- `capacity = "fargate"` (default, on demand) | `"spot"` (Fargate Spot only, interruptible with
  two minutes' notice, about 70 % off) | `"mixed"` (the first `spot_base` tasks on demand, every
  further one on Spot; `spot_base` defaults to 1 and is only read with "mixed").
- `arch = "x86_64"` (default) | `"arm64"` (Graviton, about 20 % off; on demand only, because
  Fargate Spot runs X86_64 tasks only).

Checked here, in one place: Spot or mixed together with arm64; Spot in an environment with
`production = true` unless it sets `allow_spot_in_production = true` (mixed keeps `spot_base`
on-demand tasks, so it needs no override); arm64 for a service whose base image or Python
dependency is known to ship without an arm64 build (the table below).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from .schema import ConfigError

CAPACITIES = ("fargate", "spot", "mixed")
ARCHES = ("x86_64", "arm64")
DEFAULT_SPOT_BASE = 1
# ECS names for each arch; Docker's for the image build (`--platform`).
CPU_ARCHITECTURE = {"x86_64": "X86_64", "arm64": "ARM64"}
DOCKER_PLATFORM = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}

# Known not to run on arm64: published for x86_64 only. Keys are PyPI project names (normalised)
# or base-image repositories (FROM lines, tag ignored); values say why. Small on purpose: a
# dependency not listed here is assumed to work, as the services' own are (python:*-slim images
# are multi-arch; fastapi, uvicorn, uvloop, httptools, cryptography, boto3 ship aarch64 wheels).
ARM64_UNSUPPORTED = {
    "mkl": "Intel oneAPI Math Kernel Library: x86_64 wheels only",
    "intel-openmp": "Intel OpenMP runtime: x86_64 wheels only",
    "mkl-service": "Intel MKL bindings: x86_64 wheels only",
    "mcr.microsoft.com/mssql/server": "SQL Server container images are published for linux/amd64 only",
    "mcr.microsoft.com/mssql-tools": "mssql-tools images are published for linux/amd64 only",
}


class _Spec(Protocol):
    name: str
    capacity: str
    arch: str
    spot_base: int


def parse_capacity(where: str, key: str, t: dict[str, Any]) -> dict[str, Any]:
    """ServiceSpec's capacity, arch and spot_base from one merged service table."""
    capacity, arch = t.get("capacity", "fargate"), t.get("arch", "x86_64")
    if capacity != "fargate" and arch == "arm64":
        raise ConfigError(f"{where}: {key}.capacity: {capacity!r} with arch = \"arm64\": Fargate Spot runs "
                          "X86_64 tasks only (expected capacity = \"fargate\" for arm64, or arch = \"x86_64\")")
    if "spot_base" in t and capacity != "mixed":
        raise ConfigError(f"{where}: {key}.spot_base: only used with capacity = \"mixed\" (remove it)")
    return {"capacity": capacity, "arch": arch, "spot_base": t.get("spot_base", DEFAULT_SPOT_BASE)}


def check_environment(where: str, key: str, t: dict[str, Any], services: Iterable[_Spec],
                      project_dir: Path) -> None:
    """The rules that need the environment (production) or the services' sources (arm64)."""
    for svc in services:
        if svc.capacity == "spot" and t.get("production", False) and not t.get("allow_spot_in_production", False):
            raise ConfigError(f"{where}: {key}.services.{svc.name}.capacity: \"spot\" in a production environment "
                              "makes every task interruptible (expected \"mixed\" or \"fargate\", or "
                              "allow_spot_in_production = true to accept it)")
        if svc.arch == "arm64" and (found := arm64_blocker(project_dir / "services" / svc.name)):
            raise ConfigError(f"{where}: {key}.services.{svc.name}.arch: \"arm64\" but {found} "
                              "(expected arch = \"x86_64\" for this service)")


def arm64_blocker(service_dir: Path) -> str | None:
    """The first dependency or base image of a service's sources known not to run on arm64."""
    for name in _base_images(service_dir / "Dockerfile"):
        if name in ARM64_UNSUPPORTED:
            return f"base image {name} has no arm64 build ({ARM64_UNSUPPORTED[name]})"
    for name in _python_dependencies(service_dir / "pyproject.toml"):
        if name in ARM64_UNSUPPORTED:
            return f"dependency {name} has no arm64 build ({ARM64_UNSUPPORTED[name]})"
    return None


def _base_images(dockerfile: Path) -> list[str]:
    if not dockerfile.is_file():
        return []
    found = re.findall(r"(?im)^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)", dockerfile.read_text(encoding="utf-8"))
    # Drop the tag or digest; a later stage that names an earlier one (FROM builder) is no image.
    return [re.split(r"[@]|:(?=[^/]*$)", ref)[0].lower() for ref in found]


def _python_dependencies(pyproject: Path) -> list[str]:
    """Runtime dependencies and every optional extra: an extra may be switched on at build time."""
    if not pyproject.is_file():
        return []
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except tomllib.TOMLDecodeError:
        return []  # the build will say so; this check only looks for known names
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return [re.sub(r"[-_.]+", "-", m.group(1)).lower()
            for r in requirements if (m := re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", r))]


def strategy(svc: _Spec) -> list[tuple[str, int, int]]:
    """(capacity provider, base, weight) for the service's CapacityProviderStrategy."""
    if svc.capacity == "spot":
        return [("FARGATE_SPOT", 0, 1)]
    if svc.capacity == "mixed":
        # Weight 0 on FARGATE: on demand holds exactly the base, every task beyond it goes to Spot.
        return [("FARGATE", svc.spot_base, 0), ("FARGATE_SPOT", 0, 1)]
    return [("FARGATE", 0, 1)]
