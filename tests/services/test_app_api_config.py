"""app-api configuration: defaults, every rule, and how a bad value stops the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from app_api.config import Settings
from service_kit.envconfig import ConfigError
from services_testkit import NO_AUTH, OPEN


def test_defaults() -> None:
    assert Settings.from_env(NO_AUTH) == Settings(
        service_name="app-api",
        host="0.0.0.0",
        port=8000,
        log_level="INFO",
        image_tag="unknown",
        environment="dev",
        aws_region=None,
        max_body_bytes=1_048_576,
        docs_enabled=True,
        auth=OPEN,
    )


def test_values_are_read_and_normalised() -> None:
    env = {
        "PORT": "9001",
        "LOG_LEVEL": "debug",
        "IMAGE_TAG": "1a2b3c4",
        "ENVIRONMENT": "prod",
        "SERVICE_NAME": "orders-api",
        "AWS_REGION": "ap-southeast-2",
        "HOST": "127.0.0.1",
        **NO_AUTH,
    }
    settings = Settings.from_env(env)
    assert (settings.port, settings.log_level, settings.image_tag, settings.environment) == (
        9001,
        "DEBUG",
        "1a2b3c4",
        "prod",
    )
    assert (settings.service_name, settings.aws_region, settings.host) == (
        "orders-api",
        "ap-southeast-2",
        "127.0.0.1",
    )


def test_empty_values_mean_unset() -> None:
    assert Settings.from_env({**NO_AUTH, "PORT": "", "AWS_REGION": " ", "IMAGE_TAG": ""}) == Settings(auth=OPEN)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("PORT", "abc", "PORT must be an integer from 1 to 65535 (got 'abc')"),
        ("PORT", "0", "PORT must be an integer from 1 to 65535"),
        ("PORT", "65536", "PORT must be an integer from 1 to 65535"),
        ("PORT", "80.5", "PORT must be an integer"),
        ("LOG_LEVEL", "verbose", "LOG_LEVEL must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG"),
        ("IMAGE_TAG", "has space", "IMAGE_TAG must be a string matching"),
        ("IMAGE_TAG", "-leading-dash", "IMAGE_TAG must be a string matching"),
        ("ENVIRONMENT", "x" * 33, "ENVIRONMENT must be a string matching"),
        ("SERVICE_NAME", "App_API", "SERVICE_NAME must be a string matching"),
        ("AWS_REGION", "mars", "AWS_REGION must be a string matching"),
    ],
)
def test_bad_values_are_named(name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match="invalid configuration") as failure:
        Settings.from_env({**NO_AUTH, name: value})
    assert expected in str(failure.value)


def test_every_bad_value_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as failure:
        Settings.from_env({**NO_AUTH, "PORT": "x", "LOG_LEVEL": "loud"})
    assert "PORT" in str(failure.value) and "LOG_LEVEL" in str(failure.value)


def test_bad_config_stops_start_up_with_one_json_line() -> None:
    """What an operator sees in the ECS console: one readable line, no traceback, exit status 2."""
    env = {**os.environ, **NO_AUTH, "PORT": "eighty", "LOG_LEVEL": "loud"}
    result = subprocess.run([sys.executable, "-m", "app_api"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["level"] == "CRITICAL" and line["service"] == "app-api"
    assert "PORT must be an integer" in line["message"] and "LOG_LEVEL must be one of" in line["message"]
