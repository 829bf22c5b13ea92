"""Fixtures for the service tests (tests/services): logging isolation and per-service wheelhouses."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from services_testkit import Service, bin_dir, copy_tree, run


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging replaces the root handlers; put the test runner's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Service], Path]:
    """Per service: its wheel, every dependency's wheel and setuptools, built once per session.

    Installs from here are offline (PIP_NO_INDEX), so each fresh environment takes seconds;
    only this step reaches PyPI, through pip's cache. The source is copied first so that the
    build leaves no build/ or egg-info in the work tree.
    """
    built: dict[str, Path] = {}

    def get(service: Service) -> Path:
        if service.name not in built:
            root = tmp_path_factory.mktemp(f"wheels-{service.name}")
            source = root / "source"
            copy_tree(service.directory, source)
            house = root / "wheelhouse"
            run([str(bin_dir() / "pip"), "wheel", "--quiet", "-w", str(house), str(source), "setuptools>=69"])
            built[service.name] = house
        return built[service.name]

    return get


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
