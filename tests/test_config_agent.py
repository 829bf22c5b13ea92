"""platform.toml's agent keys: extras, [services.agent] (and its per-environment override), model ids.

Each mistake is one line on stderr, exit 2, nothing written (driven through deploy.py --synth).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from config_support import config_error
from test_config_errors import edit

from generators.config import load_config

AGENT = "[services.agent]\n"
MODEL = 'bedrock_models = ["anthropic.claude-3-haiku-20240307-v1:0"]'
# inference-api with the browser tool (and its extra), nothing else changed.
BROWSER = edit('tools = ["current_time", "calculator", "web_search", "http_fetch"]', 'tools = ["browser"]').replace(
    'extras = ["agentcore"]', 'extras = ["agentcore", "browser"]', 1)
CASES = {
    "unknown tool": (edit('tools = ["current_time", "calculator", "web_search", "http_fetch"]',
                          'tools = ["current_time", "shell"]'),
                     r"services\[1\]\.agent\.tools: .*'shell' is not one"),
    "unknown extra": (edit('extras = ["agentcore"]', 'extras = ["agentcor"]'),
                      r"services\[1\]\.extras: .*'agentcor' is not one"),
    "unknown agent key": (edit(AGENT, AGENT + "max_tools = 3\n"), r"services\[1\]\.agent\.max_tools: unknown key"),
    "zero tool calls": (edit("max_tool_calls = 8", "max_tool_calls = 0"), r"agent\.max_tool_calls: .*1\.\.100"),
    "fetch without hosts": (edit('fetch_allowed_hosts = ["docs.aws.amazon.com"]', "fetch_allowed_hosts = []"),
                            r"agent\.fetch_allowed_hosts: http_fetch needs at least one allowed host"),
    "host with scheme": (edit('fetch_allowed_hosts = ["docs.aws.amazon.com"]', 'fetch_allowed_hosts = ["https://x.io"]'),
                         r"agent\.fetch_allowed_hosts: .*expected lower-case host names"),
    "browser without extra": (edit('tools = ["current_time", "calculator", "web_search", "http_fetch"]',
                                   'tools = ["browser"]'), r"agent\.tools: the browser tool needs the image extra"),
    "browser outside us-east-1": (BROWSER.replace('region = "us-east-1"', 'region = "eu-west-1"', 1),
                                  r"environments\.dev\.region: inference-api's browser tool needs Nova Act, "
                                  r"which runs in us-east-1 only"),
    "browser without hosts": (BROWSER.replace('fetch_allowed_hosts = ["docs.aws.amazon.com"]', "", 1),
                              r"agent\.fetch_allowed_hosts: browser needs at least one allowed host"),
    "bad profile prefix": (edit(MODEL, 'bedrock_models = ["xx.anthropic.claude-3-haiku-20240307-v1:0"]'),
                           r"services\[1\]\.bedrock_models: .*inference-profile id .*'xx\.anthropic"),
    "profile without model": (edit(MODEL, 'bedrock_models = ["us.claude"]'), r"bedrock_models: .*'us\.claude'"),
    "override unknown tool": (edit("[environments.prod.services.inference-api.limits]",
                                   "[environments.prod.services.inference-api.agent]\ntools = [\"rm\"]\n\n"
                                   "[environments.prod.services.inference-api.limits]"),
                              r"environments\.prod\.services\.inference-api\.agent\.tools: .*'rm' is not one"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_agent_config_error_is_one_line_exit_2_and_writes_nothing(case: str, tmp_path: Path) -> None:
    text, expected = CASES[case]
    line = config_error(tmp_path, text, "prod" if "override" in case else "dev")  # tests/config_support.py
    assert re.search(expected, line), line


def test_deploy_py_prints_that_line_exits_2_and_writes_nothing(refused_synth: Callable[..., str],
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    text, _ = CASES["override unknown tool"]
    assert refused_synth(text, "--env", "prod") == config_error(tmp_path_factory.mktemp("in-process"), text, "prod")


def test_environment_overrides_agent_keys_one_by_one(tmp_path: Path) -> None:
    config = tmp_path / "platform.toml"
    config.write_text(edit("[environments.prod.services.inference-api.limits]",
                           "[environments.prod.services.inference-api.agent]\nmax_tool_calls = 3\n\n"
                           "[environments.prod.services.inference-api.limits]"))
    prod = next(s for s in load_config(config, "prod").services if s.name == "inference-api")
    dev = next(s for s in load_config(config, "dev").services if s.name == "inference-api")
    assert prod.agent is not None and dev.agent is not None
    assert prod.agent.max_tool_calls == 3 and dev.agent.max_tool_calls == 8
    assert prod.agent.tools == dev.agent.tools and prod.extras == ("agentcore",)
    assert next(s for s in load_config(config, "dev").services if s.name == "app-api").agent is None


@pytest.mark.parametrize("model", ["us.anthropic.claude-3-5-sonnet-20241022-v2:0", "global.anthropic.claude-sonnet-4-5"
                                   "-20250929-v1:0", "us-gov.anthropic.claude-3-haiku-20240307-v1:0",
                                   "apac.amazon.nova-lite-v1:0", "amazon.titan-text-express-v1"])
def test_model_and_profile_ids_are_accepted(model: str, tmp_path: Path) -> None:
    config = tmp_path / "platform.toml"
    config.write_text(edit(MODEL, f'bedrock_models = ["{model}"]'))
    (svc,) = [s for s in load_config(config, "dev").services if s.name == "inference-api"]
    assert svc.bedrock_models == (model,)
