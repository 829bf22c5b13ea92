"""[environments.<env>.waf]: bad values are one line naming the key, exit 2, nothing written."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from config_support import config_error
from test_config_errors import BASE

from generators.config import load_config
from generators.schema import ConfigError
from generators.synth import stack_builders, stack_regions
from generators.waf_config import WafConfig, parse_waf

DEV_WAF = "[environments.dev.waf]\nenabled = false\n"


def with_dev_waf(body: str) -> str:
    assert DEV_WAF in BASE
    return BASE.replace(DEV_WAF, "[environments.dev.waf]\n" + body)


CASES = {
    "rate limit below WAF's minimum": (
        with_dev_waf("enabled = true\nrate_limit = 9\n"),
        r"environments\.dev\.waf\.rate_limit: 9 is not accepted \(expected at least 10 requests per window"),
    "inference rate limit below WAF's minimum": (
        with_dev_waf("inference_rate_limit = 0\n"),
        r"environments\.dev\.waf\.inference_rate_limit: 0 is not accepted \(expected at least 10 "),
    "window WAF does not offer": (
        with_dev_waf("window_seconds = 30\n"),
        r"environments\.dev\.waf\.window_seconds: 30 is not accepted \(expected one of 60, 120, 300, 600 seconds"),
    "unknown waf key": (
        with_dev_waf("rate_limt = 100\n"),
        r"environments\.dev\.waf\.rate_limt: unknown key \(did you mean 'rate_limit'\?\)"),
    "unrelated unknown waf key": (
        with_dev_waf("geo_block = true\n"),
        r"environments\.dev\.waf\.geo_block: unknown key \(expected one of: enabled, inference_rate_limit, "),
    "waf not a table": (
        BASE.replace(DEV_WAF, "").replace('region = "us-east-1"', 'region = "us-east-1"\nwaf = true', 1),
        r"environments\.dev\.waf: wrong type bool \(expected a table"),
    "limit for inference above the general one": (
        with_dev_waf("inference_rate_limit = 500\nrate_limit = 200\n"),
        r"environments\.dev\.waf\.inference_rate_limit: 500 is above rate_limit 200"),
    "bad limit in another environment": (
        BASE.replace("inference_rate_limit = 100\n", "inference_rate_limit = 5\n"),
        r"environments\.prod\.waf\.inference_rate_limit: 5 is not accepted"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_waf_config_error_is_one_line_exit_2_and_writes_nothing(case: str, tmp_path: Path) -> None:
    text, expected = CASES[case]
    line = config_error(tmp_path, text)  # tests/config_support.py: the line deploy.py prints
    assert re.search(expected, line), line


def test_deploy_py_prints_that_line_exits_2_and_writes_nothing(refused_synth: Callable[..., str],
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    text, _ = CASES["unknown waf key"]
    assert refused_synth(text) == config_error(tmp_path_factory.mktemp("in-process"), text)


def test_defaults_off_in_dev_on_in_prod_and_production_turns_it_on() -> None:
    dev, prod = load_config(env="dev"), load_config(env="prod")
    assert not dev.env.waf.enabled and "edge" not in stack_builders(dev)
    assert prod.env.waf == WafConfig(enabled=True, inference_rate_limit=100, rate_limit=1000, window_seconds=300)
    order = list(stack_builders(prod))
    assert order.index("edge") == order.index("frontend") - 1  # the web ACL just before its reader
    # production = true (an environment people depend on) switches it on unless the table says otherwise.
    assert parse_waf("platform.toml", "x", None, production=True).enabled
    assert not parse_waf("platform.toml", "x", {"enabled": False}, production=True).enabled
    assert parse_waf("platform.toml", "x", {"enabled": True}).enabled


def test_every_window_waf_offers_is_accepted_and_others_are_not() -> None:
    for window in (60, 120, 300, 600):
        assert parse_waf("p", "dev", {"window_seconds": window}).window_seconds == window
    for window in (0, 59, 90, 3600):
        with pytest.raises(ConfigError, match=r"environments\.dev\.waf\.window_seconds"):
            parse_waf("p", "dev", {"window_seconds": window})
    assert parse_waf("p", "dev", {"rate_limit": 10, "inference_rate_limit": 10}).rate_limit == 10


def test_edge_stack_lives_in_us_east_1_whatever_the_region(tmp_path: Path) -> None:
    config = tmp_path / "platform.toml"
    config.write_text(with_dev_waf("enabled = true\n").replace('region = "us-east-1"', 'region = "eu-west-1"', 1))
    cfg = load_config(config, "dev")
    assert stack_regions(cfg) == {"edge": "us-east-1"}
    assert stack_regions(cfg, "us-east-1") == {}  # --region us-east-1: everything is already there
    assert stack_regions(load_config(env="prod")) == {}
    assert stack_regions(load_config(env="dev")) == {}  # no edge stack at all
