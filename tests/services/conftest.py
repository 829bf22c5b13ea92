"""Fixtures for the service tests (tests/services): logging isolation and the session's wheelhouse."""

from __future__ import annotations

import hashlib
import logging
import shutil
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_support import REPO
from services_testkit import ALL_SERVICES, KIT_DIR, KIT_PACKAGE, Wheelhouse, bin_dir, copy_tree, run
from session_support import kept_between_runs, once_per_run


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging replaces the root handlers; put the test runner's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    """The kit, both services, every dependency and their build backend (flit_core), as wheels, built
    once per run and shared by every worker (session_support.once_per_run): the image tests of both
    files read it.

    Installs from here are offline (PIP_NO_INDEX), so each fresh environment takes seconds;
    only this step reaches PyPI, through pip's cache, and only when no earlier run kept the
    third-party wheels for the same dependency lists (deps_cache). The sources are copied first so that the
    build leaves no build/ or egg-info in the work tree; one pip command builds them all, so the
    services' `service-kit` requirement is met by the kit's directory, never looked up in an index.
    """
    root = once_per_run(tmp_path_factory, "wheels", build_wheelhouse)
    return Wheelhouse(local=root / "local", deps=root / "deps", cache=root / "uv-cache")


def build_backend() -> str:
    """The services' build-system requirement (all three name the same one)."""
    [requirement] = tomllib.loads((KIT_DIR / "pyproject.toml").read_text())["build-system"]["requires"]
    return str(requirement)


def deps_cache() -> Path:
    """Where the third-party wheels are kept between runs (session_support.kept_between_runs), keyed on
    what decides them: the services' dependency lists (their pyproject.toml files), the lock the test
    environment was installed from and the interpreter."""
    digest = hashlib.sha256(sys.version.encode())
    for path in (REPO / "requirements" / "dev.lock", KIT_DIR / "pyproject.toml",
                 *(s.directory / "pyproject.toml" for s in ALL_SERVICES)):
        digest.update(path.read_bytes())
    return kept_between_runs(f"wheelhouse-{digest.hexdigest()[:16]}")


def build_wheelhouse(root: Path) -> None:
    sources = []
    for directory in (KIT_DIR, *(s.directory for s in ALL_SERVICES)):
        copy_tree(directory, root / "source" / directory.name)
        sources.append(str(root / "source" / directory.name))
    built, local, deps = root / "built", root / "local", root / "deps"
    # --no-build-isolation: the running environment's flit_core builds our three wheels. The image's
    # own build, isolated as pip does by default, is replayed by test_service_images_dockerfiles.py
    # with the flit_core wheel from here.
    pip = [str(bin_dir() / "pip"), "wheel", "--quiet", "--no-build-isolation"]
    cached = deps_cache()
    kept = (cached / ".done").exists()
    if kept:
        # Our three wheels are built from this tree every run; the third-party ones, whose resolution
        # through the package index is most of the 8 s a full build takes, come from the last run's.
        run([*pip, "--no-deps", "-w", str(built), *sources])
        shutil.copytree(cached, deps, ignore=shutil.ignore_patterns(".done"))
    else:
        run([*pip, "-w", str(built), *sources, build_backend()])
        deps.mkdir()
    local.mkdir()
    ours = {KIT_PACKAGE, *(s.package for s in ALL_SERVICES)}
    for wheel in built.glob("*.whl"):
        wheel.rename((local if wheel.name.split("-")[0] in ours else deps) / wheel.name)
    if not kept:  # kept for the next run: copied whole, then renamed into place
        cached.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cached.parent, prefix=".staging-"))
        shutil.copytree(deps, staging, dirs_exist_ok=True)
        (staging / ".done").touch()
        try:
            staging.rename(cached)
        except OSError:  # another run kept its copy first
            shutil.rmtree(staging, ignore_errors=True)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and no shared config, so a real client signs requests and never looks further."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTTESTTESTTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
