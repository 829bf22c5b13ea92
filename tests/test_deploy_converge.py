"""Every run converges: protection repaired, deleted parameters restored, a recreate that cannot
delete stops with the reason, destroy then redeploy works, and a rename cannot orphan a reader."""

from __future__ import annotations

import json
from pathlib import Path

from deploy_support import REPO, Aws, set_status
from moto_state_support import stack_deployed
from state_support import snapshot

PREFIX = "layered-dev"


def ok(done: object, code: int = 0) -> str:
    text = done.stdout + done.stderr  # type: ignore[attr-defined]
    assert done.returncode == code, text  # type: ignore[attr-defined]
    assert "Traceback" not in text and "this is a bug" not in text
    return text


def test_every_run_repairs_termination_protection(aws: Aws) -> None:
    stack_deployed(aws, "registry")
    cf = aws.client("cloudformation")
    cf.update_termination_protection(StackName=f"{PREFIX}-registry", EnableTerminationProtection=False)
    again = ok(aws.deploy("--stack", "registry", "--yes"))
    assert "no changes" in again and "termination protection on (foundation stack)" in again
    assert aws.stacks()[f"{PREFIX}-registry"]["EnableTerminationProtection"] is True


def test_a_deleted_parameter_is_restored_by_its_writer_and_the_advice_keeps_every_flag(aws: Aws) -> None:
    flags = ["--prefix", "conv-a", "--region", "us-east-1"]
    ok(aws.deploy("--stack", "infrastructure", "--stack", "registry", "--stack", "frontend", "--stack", "auth",
                  "--stack", "alerts", "--yes", *flags))
    aws.client("ssm").delete_parameter(Name="/conv-a/network/vpc-id")
    refused = aws.deploy("--stack", "app-api", "--yes", *flags)
    assert refused.returncode == 2
    assert ("deploy infrastructure first (that also restores a deleted parameter): python deploy.py --stack "
            "infrastructure --env dev --prefix conv-a --region us-east-1") in refused.stderr
    restored = ok(aws.deploy("--stack", "infrastructure", "--yes", *flags))
    assert "/conv-a/network/vpc-id missing though the stack is deployed" in restored
    assert "restored /conv-a/network/vpc-id" in restored
    vpc = aws.client("ssm").get_parameter(Name="/conv-a/network/vpc-id")["Parameter"]["Value"]
    assert vpc.startswith("vpc-")
    assert aws.stacks()["conv-a-infrastructure"]["StackStatus"] == "UPDATE_COMPLETE"
    ok(aws.deploy("--stack", "app-api", "--yes", *flags))


def test_a_recreate_that_cannot_delete_stops_with_the_reason(aws: Aws) -> None:
    stack_deployed(aws, "registry")
    cf = aws.client("cloudformation")
    cf.update_termination_protection(StackName=f"{PREFIX}-registry", EnableTerminationProtection=False)
    set_status(f"{PREFIX}-registry", "ROLLBACK_COMPLETE")  # the placeholder images keep the repositories
    done = aws.deploy("--stack", "registry", "--yes")
    text = ok(done, 1)
    assert "registry failed: DELETE_FAILED" in text and "images" in text
    assert aws.stacks()[f"{PREFIX}-registry"]["StackStatus"] == "DELETE_FAILED"
    assert "CREATE_IN_PROGRESS" not in text  # no create was attempted over it


def test_destroy_says_what_it_keeps_refuses_full_repositories_and_redeploy_converges(aws: Aws) -> None:
    stack_deployed(aws, "all")
    cf = aws.client("cloudformation")
    for stack in ("infrastructure", "registry"):
        cf.update_termination_protection(StackName=f"{PREFIX}-{stack}", EnableTerminationProtection=False)
    before = snapshot(aws)
    refused = aws.deploy("--destroy", "--stack", "all", "--yes")
    assert refused.returncode == 2
    line = refused.stderr.strip()
    assert len(line.splitlines()) == 1 and "still hold images" in line
    assert "aws ecr batch-delete-image" in line and "--force" in line and "--env dev" in line
    assert snapshot(aws) == before
    done = ok(aws.deploy("--destroy", "--stack", "all", "--yes", "--force"))
    assert "keeps the site bucket" in done and "keeps the image-tag parameters" in done
    assert "--force: deleted 1 image(s) from layered-dev/app-api" in done
    assert aws.stacks() == {}
    bucket = [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]]
    sessions = next(b for b in bucket if "sessionbucket" in b)
    assert f"keeps the bucket {sessions} of inference-api" in done  # the agent's sessions, kept as said
    assert len(bucket) == 2  # the site bucket and the sessions bucket, kept as said
    ok(aws.deploy("--stack", "all", "--yes"))
    assert sorted(s["StackStatus"] for s in aws.stacks().values()) == ["CREATE_COMPLETE"] * 7


def test_a_renamed_service_cannot_delete_a_parameter_its_old_stack_reads(aws: Aws, tmp_path: Path) -> None:
    stack_deployed(aws, "all")
    config = tmp_path / "platform.toml"
    config.write_text((REPO / "platform.toml").read_text().replace("app-api", "web-api"))
    before = snapshot(aws)
    refused = aws.deploy("--config", str(config), "--stack", "registry", "--yes")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert (f"registry would delete /{PREFIX}/app-api/repository-uri, which deployed stack {PREFIX}-app-api "
            "still reads") in refused.stderr
    assert snapshot(aws) == before
    assert json.loads(json.dumps(aws.stacks()[f"{PREFIX}-registry"]["StackStatus"])) == "CREATE_COMPLETE"
