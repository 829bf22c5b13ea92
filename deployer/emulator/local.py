"""`--local`: run the same deploy against moto's server started in this process.

Dummy credentials are set here, so the demo works on a machine with no AWS configuration at all,
and AWS_PROFILE is dropped so a missing profile cannot break it. Images cannot be built here:
after the registry stack exists, a placeholder manifest is put in each service's repository and
its image-tag parameter written, so the service stacks pass pre-flight.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from deployer.aws import runner, storage
from deployer.presentation.report import Reporter
from generators.naming import IMAGE_TAG_KEY, repository_name, service_param

PLACEHOLDER_TAG = "local-placeholder"
NOT_EMULATED = (
    "no containers run, no traffic is served, CloudFront, Cognito, Budgets, Application Auto Scaling and "
    "ECS capacity providers are placeholders, stack operations finish instantly"
)


def is_emulator_endpoint() -> bool:
    """AWS_ENDPOINT_URL on this machine's loopback: an emulator (ours, or one started by the tests)."""
    host = urlparse(os.environ.get("AWS_ENDPOINT_URL", "")).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


@contextmanager
def emulator(report: Reporter, region: str) -> Iterator[str]:
    """The emulator --local-serve keeps running, when there is one; else one in this process."""
    from deployer.emulator.serve import running_url

    url = running_url()
    if url:
        with _pointed_at(url, region):
            report.line(f"LOCAL EMULATOR: the emulator on {url} started by --local-serve (dummy credentials; "
                        "its state persists until --local-stop) — nothing is deployed to AWS.")
            report.line(f"  not emulated: {NOT_EMULATED}.")
            yield url
        return
    yield from _in_process(report, region)


def _in_process(report: Reporter, region: str) -> Iterator[str]:
    from deployer.emulator.layer import server_url, start_server

    # moto's per-type "no support" lines, its warnings and werkzeug's request log: said once below instead.
    logging.getLogger("moto").setLevel(logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*not supported by moto")
    server = start_server()
    url = server_url(server)
    try:
        with _pointed_at(url, region):
            report.line(f"LOCAL EMULATOR: moto's AWS emulator on {url} (in this process, dummy credentials) — "
                        "nothing is deployed to AWS.")
            report.line(f"  not emulated: {NOT_EMULATED}, and nothing persists after exit (python deploy.py "
                        "--local-serve keeps an emulator running for later --local commands).")
            yield url
    finally:
        server.stop()


@contextmanager
def _pointed_at(url: str, region: str) -> Iterator[None]:
    """Every client of this process at `url`, with dummy credentials; the environment restored after."""
    saved = dict(os.environ)
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        os.environ.pop(var, None)
    for var in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL_")]:
        os.environ.pop(var)  # a per-service endpoint would send that service elsewhere
    os.environ.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION=region, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def placeholder_images(clients: runner.Clients, session: Any, stack: str) -> None:
    """After the registry stack: a placeholder image and image-tag parameter for each service."""
    if stack != "registry":
        return
    cfg, report = session.cfg, session.report
    for svc in cfg.services:
        path = service_param(cfg.prefix, svc.name, IMAGE_TAG_KEY)
        repo = repository_name(cfg.prefix, svc.name)
        current = storage.get_parameters(clients.ssm, [path]).get(path)
        if current and storage.image_exists(clients.ecr, repo, current):
            continue
        if not storage.image_exists(clients.ecr, repo, PLACEHOLDER_TAG):
            storage.put_placeholder_image(clients.ecr, repo, PLACEHOLDER_TAG)
        storage.put_parameter(clients.ssm, path, PLACEHOLDER_TAG)
        report.stack(stack, f"emulator: placeholder image {repo}:{PLACEHOLDER_TAG} registered and {path} "
                            "written (images cannot be built locally)")
