"""inference-api configuration, the Bedrock client it builds, and the optional agent stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from inference_api.bedrock import CONNECT_TIMEOUT_SECONDS, MAX_POOL_CONNECTIONS, ClientHolder, make_client
from inference_api.config import DEFAULT_MODEL_ID, Settings
from service_kit.envconfig import ConfigError
from services_testkit import NO_AUTH, OPEN


def test_defaults() -> None:
    settings = Settings.from_env(NO_AUTH)
    assert settings == Settings(auth=OPEN)
    assert (settings.service_name, settings.port, settings.bedrock_model_id) == (
        "inference-api",
        8000,
        DEFAULT_MODEL_ID,
    )
    assert (settings.bedrock_region, settings.bedrock_max_tokens, settings.bedrock_temperature) == (
        "us-east-1",
        1024,
        None,
    )
    assert settings.max_message_chars == 16000


def test_bedrock_region_falls_back_to_aws_region() -> None:
    assert Settings.from_env({**NO_AUTH, "AWS_REGION": "eu-central-1"}).bedrock_region == "eu-central-1"
    both = Settings.from_env({**NO_AUTH, "AWS_REGION": "eu-central-1", "BEDROCK_REGION": "us-west-2"})
    assert (both.aws_region, both.bedrock_region) == ("eu-central-1", "us-west-2")


def test_values_are_read() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
    env = {
        "BEDROCK_MODEL_ID": arn,
        "BEDROCK_MAX_TOKENS": "8192",
        "BEDROCK_TEMPERATURE": "0",
        "MAX_MESSAGE_CHARS": "100",
        "BEDROCK_READ_TIMEOUT": "120",
        "BEDROCK_MAX_ATTEMPTS": "5",
        "BEDROCK_MAX_INPUT_CHARS": "5000",
        "BEDROCK_MAX_MESSAGES": "9",
        "MAX_STREAMS_PER_USER": "2",
        "MAX_BODY_BYTES": "65536",
        "BEDROCK_DEADLINE_SECONDS": "12.5",
        **NO_AUTH,
    }
    settings = Settings.from_env(env)
    assert (settings.bedrock_max_input_chars, settings.bedrock_max_messages, settings.max_streams_per_user) == (
        5000,
        9,
        2,
    )
    assert (settings.max_body_bytes, settings.bedrock_deadline_seconds) == (65536, 12.5)
    assert (settings.bedrock_model_id, settings.bedrock_max_tokens, settings.bedrock_temperature) == (arn, 8192, 0.0)
    assert (settings.max_message_chars, settings.bedrock_read_timeout, settings.bedrock_max_attempts) == (100, 120, 5)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("BEDROCK_MAX_TOKENS", "0", "BEDROCK_MAX_TOKENS must be an integer from 1 to 8192 (got '0')"),
        ("BEDROCK_MAX_TOKENS", "8193", "BEDROCK_MAX_TOKENS must be an integer from 1 to 8192"),
        ("BEDROCK_MAX_TOKENS", "lots", "BEDROCK_MAX_TOKENS must be an integer"),
        ("BEDROCK_TEMPERATURE", "1.5", "BEDROCK_TEMPERATURE must be a number from 0 to 1 (got '1.5')"),
        ("BEDROCK_TEMPERATURE", "nan", "BEDROCK_TEMPERATURE must be a number from 0 to 1"),
        ("BEDROCK_TEMPERATURE", "warm", "BEDROCK_TEMPERATURE must be a number from 0 to 1"),
        ("BEDROCK_MODEL_ID", "claude 3", "BEDROCK_MODEL_ID must be a string matching"),
        ("BEDROCK_REGION", "US_EAST_1", "BEDROCK_REGION must be a string matching"),
        ("MAX_MESSAGE_CHARS", "0", "MAX_MESSAGE_CHARS must be an integer from 1 to 1000000"),
        ("BEDROCK_READ_TIMEOUT", "0", "BEDROCK_READ_TIMEOUT must be an integer from 1 to 900"),
        ("BEDROCK_MAX_ATTEMPTS", "11", "BEDROCK_MAX_ATTEMPTS must be an integer from 1 to 10"),
        # The spend guard's ceilings: 0 or below would mean "no request passes" or nonsense.
        ("BEDROCK_MAX_INPUT_CHARS", "0", "BEDROCK_MAX_INPUT_CHARS must be an integer from 1"),
        ("BEDROCK_MAX_MESSAGES", "-3", "BEDROCK_MAX_MESSAGES must be an integer from 1 to 1000"),
        ("MAX_STREAMS_PER_USER", "0", "MAX_STREAMS_PER_USER must be an integer from 1"),
        ("MAX_BODY_BYTES", "-1", "MAX_BODY_BYTES must be an integer from 1"),
        ("BEDROCK_DEADLINE_SECONDS", "0", "BEDROCK_DEADLINE_SECONDS must be a number from 0.1 to 54"),
        ("SSE_KEEPALIVE_SECONDS", "0", "SSE_KEEPALIVE_SECONDS must be a number from 0.1 to 29 (got '0')"),
        ("SSE_KEEPALIVE_SECONDS", "soon", "SSE_KEEPALIVE_SECONDS must be a number from 0.1 to 29"),
        ("PORT", "-1", "PORT must be an integer from 1 to 65535"),
        ("LOG_LEVEL", "trace", "LOG_LEVEL must be one of"),
        ("AGENT_SEARCH_PROXY", "127.0.0.1:3128", "AGENT_SEARCH_PROXY must be a string matching"),
        ("AGENT_SEARCH_CA_BUNDLE", "ca.crt", "AGENT_SEARCH_CA_BUNDLE must be a string matching"),
        ("AGENT_BROWSER_WORKFLOW", "a/b", "AGENT_BROWSER_WORKFLOW must be a string matching"),
        ("AGENT_BROWSER_REGION", "virginia", "AGENT_BROWSER_REGION must be a string matching"),
    ],
)
def test_bad_values_are_named(name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as failure:
        Settings.from_env({**NO_AUTH, name: value})
    assert expected in str(failure.value)


def test_bad_config_stops_start_up_with_one_json_line() -> None:
    env = {**os.environ, **NO_AUTH, "BEDROCK_MAX_TOKENS": "100000", "SERVICE_NAME": ""}
    result = subprocess.run(
        [sys.executable, "-m", "inference_api"], env=env, capture_output=True, text=True, timeout=30
    )
    assert (result.returncode, result.stderr) == (2, "")
    [line] = [json.loads(text) for text in result.stdout.splitlines()]
    assert line["level"] == "CRITICAL" and line["service"] == "inference-api"
    assert line["message"] == (
        "invalid configuration: BEDROCK_MAX_TOKENS must be an integer from 1 to 8192 (got '100000')"
    )


def test_client_has_bounded_timeouts_and_adaptive_retries(aws_credentials: None) -> None:
    client = make_client(
        Settings(auth=OPEN, bedrock_region="eu-west-3", bedrock_read_timeout=45, bedrock_max_attempts=4)
    )
    config = client.meta.config
    assert client.meta.service_model.service_name == "bedrock-runtime"
    assert client.meta.region_name == "eu-west-3"
    assert (config.connect_timeout, config.read_timeout) == (CONNECT_TIMEOUT_SECONDS, 45)
    assert config.max_pool_connections == MAX_POOL_CONNECTIONS
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 4}
    assert "inference-api/" in config.user_agent_extra


def test_client_is_created_once_and_only_when_first_needed(aws_credentials: None) -> None:
    holder = ClientHolder(Settings(auth=OPEN))
    assert holder._client is None  # nothing built at start-up: health checks never wait on boto3
    first = holder.get()
    assert holder.get() is first


def test_an_injected_client_is_used_as_is() -> None:
    sentinel = object()
    assert ClientHolder(Settings(auth=OPEN), client=sentinel).get() is sentinel


def test_service_runs_without_the_agent_stack() -> None:
    """The `agentcore` extra is optional: with its modules unimportable, every module still
    imports, the app starts, and /inference/health says the stack is absent."""
    script = textwrap.dedent(
        """
        import importlib, json, pkgutil, sys
        for name in ("strands", "strands_tools", "bedrock_agentcore"):
            sys.modules[name] = None  # makes `import name` raise ImportError
        import inference_api
        for module in pkgutil.walk_packages(inference_api.__path__, "inference_api."):
            importlib.import_module(module.name)
        from fastapi.testclient import TestClient
        from inference_api.app import create_app
        from inference_api.config import Settings
        from service_kit.authconfig import AuthSettings
        with TestClient(create_app(Settings(auth=AuthSettings(disabled=True)))) as client:
            print(json.dumps(client.get("/inference/health").json()))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["agentcore"] is False
