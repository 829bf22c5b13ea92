"""`--local-serve`: one emulator in the background, used by every later `--local` command, so the
loop a user runs against AWS (plan, execute, status, set-image-tag, destroy, redeploy) works locally."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator

import boto3
import pytest
from deploy_support import clean_env
from zygote_support import run_deploy

PREFIX = "layered-dev"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Local:
    def __init__(self, port: int) -> None:
        self.port = port
        self.env = {**clean_env(None), "PLATFORM_LOCAL_PORT": str(port)}
        self.url = f"http://127.0.0.1:{port}"

    def deploy(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_deploy(list(args), self.env, timeout=180)

    def client(self, service: str) -> object:
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def local() -> Iterator[Local]:
    served = Local(free_port())
    yield served
    served.deploy("--local-stop")


def ok(done: subprocess.CompletedProcess[str], code: int = 0) -> str:
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout + done.stderr


def test_the_served_emulator_remembers_between_commands(local: Local) -> None:
    started = ok(local.deploy("--local-serve"))
    assert f"local emulator running on {local.url}" in started
    assert "already running" in ok(local.deploy("--local-serve"))
    deployed = ok(local.deploy("--local", "--stack", "all", "--yes"))
    assert f"the emulator on {local.url} started by --local-serve" in deployed
    assert "console.aws.amazon.com" not in deployed and "no URLs to try" in deployed
    status = json.loads(local.deploy("--local", "--status", "--output", "json").stdout)
    assert {d["stack"]: d["status"] for d in status["stacks"]} == {**dict.fromkeys(
        ["infrastructure", "registry", "app-api", "inference-api", "frontend", "auth", "alerts"], "CREATE_COMPLETE"),
        "ci": "absent"}  # deployed only when named (`--stack ci`), never by `--stack all`
    # a new image tag is a change, as on AWS (CloudFormation re-reads SSM values for each change set)
    ecr = local.client("ecr")
    ecr.put_image(repositoryName=f"{PREFIX}/app-api", imageTag="v2", imageManifest=json.dumps(  # type: ignore[attr-defined]
        {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 0,
                    "digest": "sha256:" + "1" * 64}, "layers": []}))
    assert "/layered-dev/app-api/image-tag = v2" in ok(local.deploy("--local", "--set-image-tag", "app-api=v2"))
    pending = json.loads(local.deploy("--local", "--status", "--output", "json").stdout)
    app = next(d for d in pending["stacks"] if d["stack"] == "app-api")
    assert app["tag_pending"] and app["ssm_tag"] == "v2"
    planned = local.deploy("--local", "--stack", "app-api", "--plan", "--output", "json")
    ok(planned, 3)
    changes = json.loads(planned.stdout)["stacks"][0]["changes"]
    assert {"TaskDefinition"} <= {c["logical_id"] for c in changes}
    ok(local.deploy("--local", "--stack", "app-api", "--execute", "--yes"))
    after = json.loads(local.deploy("--local", "--status", "--output", "json").stdout)
    app = next(d for d in after["stacks"] if d["stack"] == "app-api")
    assert app["deployed_tag"] == "v2" and not app["tag_pending"]
    # destroy, then redeploy: it converges
    cf = local.client("cloudformation")
    for stack in ("infrastructure", "registry"):
        cf.update_termination_protection(StackName=f"{PREFIX}-{stack}",  # type: ignore[attr-defined]
                                         EnableTerminationProtection=False)
    destroyed = ok(local.deploy("--local", "--destroy", "--stack", "all", "--yes", "--force"))
    assert "keeps the image-tag parameters" in destroyed and "deleted" in destroyed
    assert cf.describe_stacks()["Stacks"] == []  # type: ignore[attr-defined]
    again = ok(local.deploy("--local", "--stack", "all", "--yes"))
    assert "placeholder image" in again
    stacks = cf.describe_stacks()["Stacks"]  # type: ignore[attr-defined]
    assert sorted(s["StackStatus"] for s in stacks) == ["CREATE_COMPLETE"] * 7
    assert all(s["EnableTerminationProtection"] for s in stacks if s["StackName"].endswith(("infrastructure",
                                                                                             "registry")))
    assert "stopped" in ok(local.deploy("--local-stop"))
    assert "no local emulator is running" in ok(local.deploy("--local-stop"))


def test_local_without_a_served_emulator_is_one_shot(local: Local) -> None:
    first = ok(local.deploy("--local", "--stack", "registry", "--yes"))
    assert "in this process" in first and "nothing persists after exit" in first
    second = ok(local.deploy("--local", "--stack", "registry", "--yes"))
    assert "registry        create" in second or "CREATE_COMPLETE" in second  # created again: nothing was kept
