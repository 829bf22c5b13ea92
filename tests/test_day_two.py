"""--logs, --releases, --rollback and the live part of --status, driven as a user would, against
moto's server over HTTP (issue 11). What moto cannot do (roll a deployment back on an alarm, model
CloudWatch alarms in CloudFormation) is set up here in the emulator's state, and said so."""

from __future__ import annotations

import json
import time

import pytest
from deploy_support import Aws
from moto_state_support import deploy_or_fail, prepared
from zygote_support import popen_deploy

PREFIX = "layered-dev"
GROUP = f"/ecs/{PREFIX}/app-api"
TAG_PATH = f"/{PREFIX}/app-api/image-tag"
MANIFEST = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                       "digest": "sha256:" + "2" * 64}, "layers": []}


def now_ms() -> int:
    return int(time.time() * 1000)


def write_events(aws: Aws, events: list[tuple[int, str]]) -> None:
    logs = aws.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="app-api/app-api/1")
    logs.put_log_events(logGroupName=GROUP, logStreamName="app-api/app-api/1",
                        logEvents=[{"timestamp": t, "message": m} for t, m in sorted(events)])


def access(message: str, status: int, rid: str, level: str = "INFO") -> str:
    return json.dumps({"time": "x", "level": level, "message": message, "request_id": rid, "status": status,
                       "duration_ms": 12.5})


def test_logs_window_filter_and_json(aws: Aws) -> None:
    t = now_ms()
    write_events(aws, [(t - 3 * 3600_000, access("GET /old 200", 200, "r-old")),
                       (t - 10 * 60_000, access("GET /api/a 200", 200, "r-1")),
                       (t - 5 * 60_000, access("GET /api/b 500", 500, "r-2", "ERROR")),
                       (t - 60_000, "plain text line")])
    shown = aws.deploy("--logs", "app-api", "--since", "1h")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert len(lines) == 3 and "r-old" not in shown.stdout
    assert "INFO" in lines[0] and "[r-1]" in lines[0] and "status=200" in lines[0] and "12.5ms" in lines[0]
    assert "ERROR" in lines[1] and "[r-2]" in lines[1] and "status=500" in lines[1]
    assert lines[2].endswith("plain text line")  # newest last
    wide = aws.deploy("--logs", "app-api", "--since", "4h")
    assert "r-old" in wide.stdout.splitlines()[0]
    filtered = aws.deploy("--logs", "app-api", "--since", "1h", "--filter", "ERROR")
    assert filtered.returncode == 0 and len(filtered.stdout.splitlines()) == 1 and "r-2" in filtered.stdout
    raw = aws.deploy("--logs", "app-api", "--since", "1h", "--output", "json")
    docs = [json.loads(line) for line in raw.stdout.splitlines()]
    assert [d.get("request_id") for d in docs] == ["r-1", "r-2", None] and docs[2]["message"] == "plain text line"
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((t - 7 * 60_000) / 1000))
    since_iso = aws.deploy("--logs", "app-api", "--since", iso)
    assert len(since_iso.stdout.splitlines()) == 2


def test_logs_say_why_nothing_was_shown(aws: Aws) -> None:
    never = aws.deploy("--logs", "app-api")
    assert never.returncode == 0 and never.stdout == "", never.stderr
    assert f"no log group {GROUP} yet: app-api has not run" in never.stderr
    write_events(aws, [(now_ms() - 3 * 3600_000, "an old line")])
    quiet = aws.deploy("--logs", "app-api", "--since", "1h", "--output", "json")
    assert quiet.returncode == 0 and quiet.stdout == "", quiet.stderr  # stdout stays JSON lines (none)
    assert f"no log events in {GROUP} since 1h" in quiet.stderr


@pytest.mark.parametrize(("args", "expected"), [
    (["--logs", "frontend"], "--logs frontend: the frontend is a static site"),
    (["--logs", "nope"], "--logs nope: no such service (expected one of: app-api, inference-api)"),
    (["--rollback", "nope", "--yes"], "--rollback nope: no such service"),
    (["--rollback", "frontend", "--yes"], "--rollback frontend: the frontend is a static site"),
    (["--releases", "nope"], "--releases nope: no such service"),
    (["--logs", "app-api", "--since", "yesterday"], "--since 'yesterday' is not a duration or a time"),
    (["--logs", "app-api", "--since", "2999-01-01T00:00:00Z"], "is in the future"),
    (["--status", "--watch"], "--watch redraws a terminal, and stdout is not one"),
    (["--since", "2h", "--status"], "--since only goes with --logs"),
    (["--to", "v1", "--releases", "app-api"], "--to only goes with --rollback"),
    (["--rollback", "app-api"], "no terminal to confirm on — pass --yes"),
])
def test_bad_day_two_input_is_one_line_exit_2(aws: Aws, args: list[str], expected: str) -> None:
    done = aws.deploy(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert aws.stacks() == {}


def push(aws: Aws, tag: str) -> None:
    aws.client("ecr").put_image(repositoryName=f"{PREFIX}/app-api", imageManifest=json.dumps(MANIFEST), imageTag=tag)


@pytest.fixture
def released(aws: Aws) -> Aws:
    """Every stack deployed; app-api's image-tag history then v1, v2, v3 with images in ECR, v3 deployed
    (made by these deploy.py runs once per worker, then restored: moto_state_support)."""

    def release(aws: Aws) -> None:
        deploy_or_fail(aws, "all")
        for tag in ("v1", "v2", "v3"):
            push(aws, tag)
            assert aws.deploy("--set-image-tag", f"app-api={tag}").returncode == 0
        done = aws.deploy("--stack", "app-api", "--yes")
        assert done.returncode == 0, done.stdout + done.stderr

    return prepared(aws, "released", release)


def deployed_tag(aws: Aws) -> str:
    stack = aws.stacks()[f"{PREFIX}-app-api"]
    return next(p["ParameterValue"] for p in stack["Parameters"] if p["ParameterKey"] == "ImageTag")


def test_releases_list_and_rollback_deploys_the_previous_tag(released: Aws) -> None:
    listed = released.deploy("--releases", "app-api", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    rel = json.loads(listed.stdout)["releases"]
    assert [r["tag"] for r in rel][:3] == ["v3", "v2", "v1"]
    assert rel[0]["deployed"] and rel[0]["current"] and rel[0]["image_in_ecr"] and rel[0]["when"]
    assert not rel[1]["deployed"]
    text = released.deploy("--releases", "app-api").stdout
    assert "deployed, current (SSM)" in text.splitlines()[2]
    back = released.deploy("--rollback", "app-api", "--yes")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "rollback app-api: v3 -> v2" in back.stdout
    ssm = released.client("ssm")
    assert ssm.get_parameter(Name=TAG_PATH)["Parameter"]["Value"] == "v2"
    assert deployed_tag(released) == "v2"
    again = json.loads(released.deploy("--releases", "app-api", "--output", "json").stdout)["releases"]
    assert again[0]["tag"] == "v2" and again[0]["deployed"]  # the rollback is a release of its own
    to_version = released.deploy("--rollback", "app-api", "--to", str(rel[2]["version"]), "--yes")
    assert to_version.returncode == 0, to_version.stderr
    assert deployed_tag(released) == "v1"


def test_rollback_refuses_a_gone_image_a_missing_release_and_an_empty_history(released: Aws) -> None:
    ecr = released.client("ecr")
    ecr.batch_delete_image(repositoryName=f"{PREFIX}/app-api", imageIds=[{"imageTag": "v2"}])
    history = released.client("ssm").get_parameter_history(Name=TAG_PATH)["Parameters"]
    for args, expected in [
        (["--to", "v2"], "the image of release"),
        (["--to", "99"], "no release '99'"),
        (["--to", "v9"], "no release 'v9'"),
    ]:
        done = released.deploy("--rollback", "app-api", "--yes", *args)
        assert done.returncode == 2, done.stdout + done.stderr
        assert expected in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert released.client("ssm").get_parameter_history(Name=TAG_PATH)["Parameters"] == history  # nothing written
    skip = released.deploy("--rollback", "app-api", "--yes")  # v2 is gone: the previous usable one is v1
    assert skip.returncode == 0 and "v3 -> v1" in skip.stdout, skip.stdout + skip.stderr
    for tag in ("v1", "v3", "local-placeholder"):
        ecr.batch_delete_image(repositoryName=f"{PREFIX}/app-api", imageIds=[{"imageTag": tag}])
    nothing = released.deploy("--rollback", "app-api", "--yes")
    assert nothing.returncode == 2 and "no earlier release to roll back to" in nothing.stderr, nothing.stderr


def test_rollback_with_no_history_is_refused(aws: Aws) -> None:
    done = aws.deploy("--rollback", "inference-api", "--yes")
    assert done.returncode == 2 and "inference-api has no releases" in done.stderr, done.stderr


def test_status_shows_rollout_targets_and_alarms(released: Aws) -> None:
    """moto's CloudFormation does not model CloudWatch alarms: the test creates the four by name, as
    the service stack would on AWS, and puts one in ALARM; targets are registered by hand; and
    moto's CloudFormation neither keeps the image of a replaced task definition nor hands it to the
    service, so the test registers v3's task definition and updates the service as ECS would."""
    cw, elbv2, ecs = released.client("cloudwatch"), released.client("elbv2"), released.client("ecs")
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in released.client(
        "cloudformation").describe_stack_resources(StackName=f"{PREFIX}-app-api")["StackResources"]}
    cluster = ecs.list_clusters()["clusterArns"][0]
    image = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{PREFIX}/app-api:v3"
    td = ecs.register_task_definition(family=f"{PREFIX}-app-api", containerDefinitions=[
        {"name": "app-api", "image": image, "memory": 512}])["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=cluster, service=resources["Service"], taskDefinition=td)
    for kind in ("5xx-count", "5xx-rate", "p99-latency", "unhealthy-hosts"):
        cw.put_metric_alarm(AlarmName=f"{PREFIX}-app-api-{kind}", MetricName="m", Namespace="n", Statistic="Sum",
                            Period=60, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName=f"{PREFIX}-app-api-5xx-rate", StateValue="ALARM", StateReason="test")
    tg = resources["TargetGroup"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "10.20.1.5", "Port": 8000},
                                                       {"Id": "10.20.1.6", "Port": 8000}])
    done = released.deploy("--status")
    assert done.returncode == 0, done.stderr
    block = done.stdout[done.stdout.index("app-api: service"):]
    assert "primary" in block and "image v3" in block
    assert "targets:" in block and " 2" in block.splitlines()[2]
    assert f"firing: {PREFIX}-app-api-5xx-rate" in block
    doc = json.loads(released.deploy("--status", "--output", "json").stdout)
    app = next(s for s in doc["services"] if s["service"] == "app-api")
    assert sum(app["targets"].values()) == 2 and app["alarms"][f"{PREFIX}-app-api-5xx-rate"] == "ALARM"
    assert app["deployments"][0]["image_tag"] == "v3"


def test_a_rollout_rolled_back_by_an_alarm_fails_the_deploy_naming_it(released: Aws) -> None:
    """Only AWS rolls a deployment back on an alarm: here the emulator's ECS service is put in the
    state ECS leaves it in (the new deployment FAILED, its reason naming the alarm), then a deploy
    runs. What is tested is the deploy reading that state, exiting 1 and naming the alarm."""
    from moto.ecs.models import ecs_backends

    alarm = f"{PREFIX}-app-api-5xx-rate"
    (service,) = [s for s in ecs_backends["123456789012"]["us-east-1"].services.values() if "app-api" in s.name]
    push(released, "v4")
    assert released.deploy("--set-image-tag", "app-api=v4").returncode == 0
    service.deployments[0].update(rolloutState="FAILED",
                                  rolloutStateReason=f"ECS deployment ecs-svc/1 rolled back: alarm(s) [{alarm}] "
                                                     "in ALARM state")
    done = released.deploy("--stack", "app-api", "--yes")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"error: app-api: the rollout was rolled back by alarm {alarm}" in done.stderr
    status = released.deploy("--status").stdout
    assert f"rolled back by alarm: {alarm}" in status


@pytest.mark.parametrize(("service", "expected"), [
    ({"deployments": [{"rolloutState": "COMPLETED", "rolloutStateReason": "ECS deployment x completed."}]}, None),
    ({"deployments": [{"rolloutState": "FAILED", "rolloutStateReason": "tasks failed to start"}]}, None),
    ({"deployments": [], "events": [{"message": "(service s) rolling back deployment: alarm a-5xx-count fired"}]},
     "a-5xx-count"),
    ({"deployments": [{"rolloutState": "FAILED", "rolloutStateReason": "rolled back: CloudWatch alarm detected"}]},
     "rolled back: CloudWatch alarm detected"),
])
def test_alarm_rollback_classification(service: dict, expected: str | None) -> None:
    from deployer.commands.rollout import alarm_rollback

    assert alarm_rollback(service, ["a-5xx-count", "a-5xx-rate"]) == expected


def test_follow_prints_new_events_as_json_lines(aws: Aws) -> None:
    """On the emulator --follow polls FilterLogEvents (moto's live tail is a one-off snapshot)."""
    import signal
    import subprocess
    import threading


    write_events(aws, [(now_ms() - 60_000, access("GET /api/a 200", 200, "r-1"))])
    proc = popen_deploy(["--logs", "app-api", "--follow", "--output", "json"], aws.env, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
    guard = threading.Timer(60, proc.kill)  # a line that never comes must not hang the suite
    guard.start()
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["request_id"] == "r-1"
        aws.client("logs").put_log_events(logGroupName=GROUP, logStreamName="app-api/app-api/1", logEvents=[
            {"timestamp": now_ms(), "message": access("GET /api/b 200", 200, "r-2")}])
        assert json.loads(proc.stdout.readline())["request_id"] == "r-2"
        proc.send_signal(signal.SIGINT)  # Ctrl-C: the way a follow ends, not a failure
        rest, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Traceback" not in err, err
        assert all(json.loads(line) for line in rest.splitlines())  # still nothing but JSON lines on stdout
    finally:
        guard.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)


def test_releases_name_the_writer_from_its_arn_and_keep_anything_else() -> None:
    from deployer.commands.releases import writer

    assert writer("arn:aws:iam::123456789012:user/alice") == "alice"
    assumed = "arn:aws:sts::123456789012:assumed-role/layered-dev-ci-deploy/run-42"
    assert writer(assumed) == "layered-dev-ci-deploy/run-42"
    assert writer("N/A") == "N/A"  # what moto records: shown as it is, not cut at its slash
    assert writer("") == "-"
