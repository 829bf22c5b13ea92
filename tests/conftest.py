"""One moto server for the whole session, in this process, reset between tests.

Deploy tests drive `deploy.py` as a subprocess (exactly as a user would) with AWS_ENDPOINT_URL
pointing here. The server runs in this process, so its warnings are ours to see: a test marked
`@pytest.mark.moto_required("AWS::ECS::Service", ...)` fails if moto reported one of those types
as unsupported (it would then exist only as a placeholder, and the test would prove nothing).
"""

from __future__ import annotations

import logging
import sys
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy_support import Aws, clean_env  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "moto_required(*types): fail if moto cannot model these resource types")


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from deployer.emulator.layer import server_url, start_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = start_server()
    yield server_url(server)
    server.stop()


@pytest.fixture
def aws(moto_url: str, request: pytest.FixtureRequest) -> Iterator[Aws]:
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).read()
    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always")
        state = Aws(moto_url, clean_env(moto_url), recorded)
        yield state
    marker = request.node.get_closest_marker("moto_required")
    if marker:
        missing = set(marker.args) & state.unsupported()
        assert not missing, f"moto does not model {sorted(missing)}: this test would only see placeholders"
