"""The modules both services share are kept as identical copies (each image's build context is
its own directory, so a shared package would not be in it). This keeps the copies from drifting."""

from __future__ import annotations

import pytest
from services_testkit import APP_API, INFERENCE_API

SHARED = ["envconfig.py", "jsonlog.py", "accesslog.py", "server.py"]


@pytest.mark.parametrize("module", SHARED)
def test_shared_module_copies_are_identical(module: str) -> None:
    first = APP_API.directory / "src" / APP_API.package / module
    second = INFERENCE_API.directory / "src" / INFERENCE_API.package / module
    assert first.read_text() == second.read_text(), f"edit both copies of {module} together"
