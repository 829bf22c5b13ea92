"""The services' upstream timeouts against the edge's, read from the committed templates.

The ALB (idle timeout) and CloudFront (origin read timeout) each drop a request that stays
silent for 60 s; a client then sees a bare 502/504 from the edge instead of our JSON 504.
So every wait inside a request ends well before the shortest of them, and a stream's
keep-alive comments come more often than either would give up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from inference_api import bedrock, config
from service_kit import jwks, sse
from service_kit.envconfig import ConfigError
from services_testkit import NO_AUTH, REPO

ENVIRONMENTS = sorted(p.name for p in (REPO / "templates").iterdir() if p.is_dir())
ANSWER_BEFORE_SECONDS = 55  # the bound: a 504 from us, before any edge timeout


def _values(node: Any, key: str) -> Iterator[Any]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key:
                yield value
            yield from _values(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _values(item, key)


def edge_timeouts(env: str) -> list[int]:
    """Every idle/read timeout between a viewer and a task, in whichever stack holds it."""
    found = []
    for path in sorted((REPO / "templates" / env).glob("*.json")):
        template = json.loads(path.read_text())
        found += [int(v) for v in _values(template, "OriginReadTimeout")]
        for attributes in _values(template, "LoadBalancerAttributes"):
            found += [int(a["Value"]) for a in attributes if a["Key"] == "idle_timeout.timeout_seconds"]
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_504_comes_before_the_edge_gives_up(env: str) -> None:
    timeouts = edge_timeouts(env)
    assert len(timeouts) >= 2, "both the ALB's idle timeout and CloudFront's origin read timeout are found"
    shortest = min(timeouts)
    assert config.DEFAULT_DEADLINE_SECONDS <= config.MAX_DEADLINE_SECONDS < ANSWER_BEFORE_SECONDS <= shortest - 5
    assert bedrock.CONNECT_TIMEOUT_SECONDS < config.DEFAULT_DEADLINE_SECONDS
    assert config.Settings.bedrock_read_timeout <= config.DEFAULT_DEADLINE_SECONDS
    assert jwks.FETCH_DEADLINE_SECONDS < config.DEFAULT_DEADLINE_SECONDS, "a dead issuer is a 503, not an edge 504"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_keep_alive_comments_come_more_often_than_any_idle_timeout(env: str) -> None:
    assert sse.KEEPALIVE_SECONDS <= 15
    assert min(edge_timeouts(env)) > sse.KEEPALIVE_SECONDS * 2, "even one lost keep-alive is survived"
    assert min(edge_timeouts(env)) > config.MAX_KEEPALIVE_SECONDS * 2, "whatever SSE_KEEPALIVE_SECONDS says"


def test_the_keep_alive_interval_is_15_s_unless_set_and_cannot_reach_the_edge_timeouts() -> None:
    assert config.Settings.from_env(NO_AUTH).sse_keepalive_seconds == sse.KEEPALIVE_SECONDS == 15
    assert config.Settings.from_env({**NO_AUTH, "SSE_KEEPALIVE_SECONDS": "0.2"}).sse_keepalive_seconds == 0.2
    with pytest.raises(ConfigError, match="SSE_KEEPALIVE_SECONDS must be a number from 0.1 to 29"):
        config.Settings.from_env({**NO_AUTH, "SSE_KEEPALIVE_SECONDS": "30"})


def test_the_deadline_setting_cannot_reach_the_edge_timeouts() -> None:

    with pytest.raises(ConfigError, match="BEDROCK_DEADLINE_SECONDS must be a number from 0.1 to 54"):
        config.Settings.from_env({**NO_AUTH, "BEDROCK_DEADLINE_SECONDS": "55"})
    assert config.Settings.from_env(NO_AUTH).bedrock_deadline_seconds == config.DEFAULT_DEADLINE_SECONDS
