"""`--plan` writes nothing (issue 12): it runs as the plan role, which may only create, describe and
delete change sets and upload under the artifacts bucket's plan/ prefix. moto enforces no IAM, so
deploy.py's own calls are checked: a proxy in front of the emulator records every action and answers
any that is not a read (or one of those few) with AccessDenied, as IAM would the plan role.
A stack the plan cannot make (the origin secret or the first image does not exist yet) is "not
planned" in one line naming the deploy that makes it; the others are planned; exit 3."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from deploy_support import REPO, Aws, set_status
from moto_state_support import stack_deployed
from relay_support import Relay
from test_deploy_origin_secret import ALB, CLOUDFRONT, PREFIX, public_alb  # noqa: F401 (a fixture)

READ_PREFIXES = ("Get", "Describe", "List", "Head", "BatchGet", "Query")
PLAN_WRITES = {"CreateChangeSet", "DeleteChangeSet"}  # what the plan role may change


class _ReadOnly(Relay):
    """Relays reads to the emulator; any write the plan role may not make is refused and recorded."""

    seen: list[str] = []
    refused: list[str] = []

    def _action(self, body: bytes) -> str:
        target = self.headers.get("X-Amz-Target")
        if target:  # JSON protocol: SSM, Secrets Manager, ECR
            return target.split(".")[-1]
        form = parse_qs(body.decode("utf-8", "replace")) if body and b"Action=" in body else {}
        if form.get("Action"):  # query protocol: CloudFormation, STS
            return form["Action"][0]
        path = urlsplit(self.path)  # S3, path style: /bucket/key
        parts = path.path.lstrip("/").split("/", 1)
        if self.command in ("GET", "HEAD"):
            return "Get" + ("Object" if len(parts) > 1 and parts[1] else "Bucket")
        if self.command == "PUT" and len(parts) > 1 and parts[1].startswith("plan/") and not path.query:
            return "PutPlanObject"
        return f"S3 {self.command} {path.path}?{path.query}"

    def relay(self) -> None:
        body = self.read_body()
        action = self._action(body)
        self.seen.append(action)
        if not (action.startswith(READ_PREFIXES) or action in PLAN_WRITES or action == "PutPlanObject"):
            self.refused.append(action)
            self.answer(403, {"Content-Type": "application/xml"}, b"<ErrorResponse><Error><Code>AccessDenied</Code>"
                        b"<Message>the plan role may not</Message></Error></ErrorResponse>")
            return
        self.forward(body)


@pytest.fixture
def read_only(aws: Aws) -> Iterator[type[_ReadOnly]]:
    handler = type("Handler", (_ReadOnly,), {"upstream": aws.env["AWS_ENDPOINT_URL"], "seen": [], "refused": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


def plan(aws: Aws, proxy: type[_ReadOnly], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**aws.env, "AWS_ENDPOINT_URL": proxy.url}  # type: ignore[attr-defined]
    return aws.deploy("--plan", *args, env=env)


def stack_lines(stdout: str, stack: str) -> list[str]:
    """The stack's progress line that says why it was not planned (the summary table has no colon)."""
    return [ln.split("]", 1)[1].strip() for ln in stdout.splitlines()
            if ln.lstrip().startswith("[") and f"] {stack} " in ln and "not planned:" in ln]


def test_a_first_public_alb_plan_writes_nothing_and_says_what_the_deploy_makes(
        aws: Aws, public_alb: Path, read_only: type[_ReadOnly]) -> None:  # noqa: F811
    base = aws.deploy("--config", str(public_alb), "--stack", "infrastructure", "--stack", "registry", "--yes")
    assert base.returncode == 0, base.stdout + base.stderr
    done = plan(aws, read_only, "--config", str(public_alb), "--stack", "alerts", "--stack", "frontend",
                "--stack", "app-api")
    assert done.returncode == 3, done.stdout + done.stderr
    assert read_only.refused == [], read_only.refused  # not one write was even tried
    assert "CreateChangeSet" in read_only.seen
    assert "Traceback" not in done.stderr
    front = stack_lines(done.stdout, "frontend")
    assert len(front) == 1 and f"it reads {CLOUDFRONT}, which the first deploy creates with the origin secret" \
        in front[0], done.stdout
    [api] = stack_lines(done.stdout, "app-api")
    assert "which stack alerts writes when it is deployed (a plan deploys nothing) — deploy alerts first" in api
    assert aws.client("secretsmanager").list_secrets()["SecretList"] == []
    assert aws.client("ssm").get_parameters(Names=[ALB, CLOUDFRONT])["Parameters"] == []
    stacks = aws.stacks()
    assert stacks[f"{PREFIX}-alerts"]["StackStatus"] == "REVIEW_IN_PROGRESS"  # its change set waits for review
    assert f"{PREFIX}-frontend" not in stacks and f"{PREFIX}-app-api" not in stacks
    again = plan(aws, read_only, "--config", str(public_alb), "--stack", "alerts")  # on the shell the first left
    assert again.returncode == 3, again.stdout + again.stderr
    assert read_only.refused == [], read_only.refused  # the shell is not deleted: a plan deletes no stack
    summaries = aws.client("cloudformation").list_change_sets(StackName=f"{PREFIX}-alerts")["Summaries"]
    assert len([c for c in summaries if c["StackName"] == f"{PREFIX}-alerts"]) == 2  # moto lists every stack's


def test_a_service_without_an_image_is_not_planned_and_says_publish(aws: Aws, read_only: type[_ReadOnly]) -> None:
    """The first image: every other input exists, the image-tag parameter does not."""
    stack_deployed(aws, "all")
    tag = f"/{PREFIX}/app-api/image-tag"
    aws.client("ssm").delete_parameter(Name=tag)
    done = plan(aws, read_only, "--stack", "app-api", "--stack", "alerts", "--output", "json")
    assert done.returncode == 3, done.stdout + done.stderr
    assert read_only.refused == [], read_only.refused
    doc = json.loads(done.stdout)
    by = {s["stack"]: s for s in doc["stacks"]}
    assert by["app-api"]["status"] == "not planned"
    assert by["app-api"]["reason"] == (f"not planned: no image published yet ({tag} does not exist) — the pipeline's "
                                       "deploy job publishes the first one, or once as the deploy role: python "
                                       "deploy.py --publish app-api --env dev")
    assert by["alerts"]["status"] == "no changes"
    assert aws.client("ssm").get_parameters(Names=[tag])["Parameters"] == []  # no placeholder written by a plan


def test_a_failed_first_create_is_left_for_the_deploy(aws: Aws, read_only: type[_ReadOnly]) -> None:
    """A deploy deletes a ROLLBACK_COMPLETE stack and creates it again; a plan deletes nothing and says so."""
    assert aws.deploy("--stack", "alerts", "--yes").returncode == 0
    before = aws.stacks()[f"{PREFIX}-alerts"]["StackId"]
    set_status(f"{PREFIX}-alerts", "ROLLBACK_COMPLETE")
    done = plan(aws, read_only, "--stack", "alerts")
    assert done.returncode == 3, done.stdout + done.stderr
    assert read_only.refused == [], read_only.refused
    assert stack_lines(done.stdout, "alerts") == [
        f"alerts          not planned: {PREFIX}-alerts is ROLLBACK_COMPLETE from a failed first create, which a "
        "deploy deletes and creates again (a plan deletes nothing)"]
    assert aws.stacks()[f"{PREFIX}-alerts"]["StackId"] == before


def test_the_plan_summary_asks_the_deploy_job_for_a_first_deploy(tmp_path: Path) -> None:
    """plan_summary.py: a stack not planned makes `first_deploy=true`, which the change-set action turns
    into a deploy (plan and execute in one run, as the deploy role) instead of --execute."""
    out, plan_file = tmp_path / "out", tmp_path / "plan.json"
    for status, expected in (("not planned", "true"), ("planned", "false")):
        plan_file.write_text(json.dumps({"env": "dev", "stacks": [{"stack": "frontend", "status": status}]}))
        out.write_text("")
        done = subprocess.run([sys.executable, str(REPO / ".github/scripts/plan_summary.py"), str(plan_file),
                               "--exit-code", "3", "--output", str(out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert out.read_text().splitlines() == ["changes=true", f"first_deploy={expected}"]
