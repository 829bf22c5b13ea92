"""Errors nobody planned for still end as one line and a documented exit status, never a traceback."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

ROOT = Path(__file__).resolve().parent.parent


def deploy_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_cli", ROOT / "deploy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT))
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("exc", "expected"), [
    (ResponseParserError("Unable to parse response (syntax error)\nb'<!doctype html>...'"),
     "error: AWS call failed: Unable to parse response (syntax error) — nothing further was attempted"),
    (ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeStacks"),
     "error: AWS call failed: An error occurred (Throttling) when calling the DescribeStacks operation"),
    (KeyError("StackStatus"), "error: unexpected KeyError: 'StackStatus' — this is a bug in deploy.py; "
                              "rerun with PLATFORM_DEBUG=1"),
])
def test_unhandled_errors_are_one_line_and_exit_1(exc: Exception, expected: str,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLATFORM_DEBUG", raising=False)
    assert deploy_module().handle(exc) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith(expected), err


def test_platform_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_DEBUG", "1")
    with pytest.raises(KeyError):
        deploy_module().handle(KeyError("x"))
