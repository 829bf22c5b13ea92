"""One moto server for the whole session, in this process, reset between tests.

Deploy tests drive `deploy.py` as a subprocess (exactly as a user would) with AWS_ENDPOINT_URL
pointing here. The server runs in this process, so its warnings are ours to see: a test marked
`@pytest.mark.moto_required("AWS::ECS::Service", ...)` fails if moto reported one of those types
as unsupported (it would then exist only as a placeholder, and the test would prove nothing).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
UNSUPPORTED = "not supported by moto's CloudFormation implementation"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "moto_required(*types): fail if moto cannot model these resource types")


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from deployer.emulator import server_url, start_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = start_server()
    yield server_url(server)
    server.stop()


def clean_env(url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull, PYTHONWARNINGS="ignore")
    if url:
        env["AWS_ENDPOINT_URL"] = url
    return env


@dataclass
class Aws:
    """The emulator as a test sees it: boto3 clients for checks, and deploy.py to run."""

    url: str
    env: dict[str, str]
    warnings: list[warnings.WarningMessage] = field(default_factory=list)

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def deploy(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(REPO / "deploy.py"), *args], cwd=REPO, env=env or self.env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)

    def stacks(self) -> dict[str, dict[str, Any]]:
        return {s["StackName"]: s for s in self.client("cloudformation").describe_stacks()["Stacks"]}

    def unsupported(self) -> set[str]:
        return {str(w.message).split()[3] for w in self.warnings if UNSUPPORTED in str(w.message)}


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
