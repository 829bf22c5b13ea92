"""--publish, --set-image-tag and --publish frontend against the emulator: ECR, SSM and S3 for real,
docker replaced by a script that records its arguments (and, on push, registers the manifest)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from deploy_support import Aws
from moto_state_support import prepared, stack_deployed

PREFIX = "layered-dev"
FAKE_DOCKER = '''\
import json, os, sys
with open(os.environ["DOCKER_LOG"], "a") as fh:
    stdin = sys.stdin.read() if "--password-stdin" in sys.argv else None
    fh.write(json.dumps({"argv": sys.argv[1:], "stdin": stdin}) + "\\n")
if sys.argv[1] == "push":
    import boto3  # here, not above: login and build have no use for it (0.4 s of CPU each)

    uri, tag = sys.argv[2].rsplit(":", 1)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                           "digest": "sha256:" + "1" * 64}, "layers": []}
    boto3.client("ecr", region_name="us-east-1").put_image(
        repositoryName=uri.split("/", 1)[1], imageManifest=json.dumps(manifest), imageTag=tag)
'''


def checkout(root: Path, dirty: bool) -> dict[str, str]:
    """A git checkout of its own (git honours GIT_DIR/GIT_WORK_TREE): the tests never depend on, nor
    change, the state of the repository they run in."""
    root.mkdir()
    (root / "app.py").write_text("print('v1')\n")
    env = {"GIT_DIR": str(root / ".git"), "GIT_WORK_TREE": str(root)}
    for args in (["init", "-q"], ["add", "app.py"],
                 ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one"]):
        subprocess.run(["git", *args], cwd=root, check=True, env={**os.environ, **env}, capture_output=True)
    if dirty:
        (root / "app.py").write_text("print('v2, not committed')\n")
    return env


@pytest.fixture
def docker(tmp_path: Path, aws: Aws) -> tuple[str, Path]:
    script, log = tmp_path / "docker.py", tmp_path / "docker.log"
    script.write_text(FAKE_DOCKER)
    aws.env["DOCKER_LOG"] = str(log)
    aws.env.update(checkout(tmp_path / "checkout", dirty=False))
    return f"{sys.executable} {script}", log


def test_publish_builds_pushes_and_writes_the_tag(aws: Aws, docker: tuple[str, Path]) -> None:
    stack_deployed(aws, "registry")
    done = aws.deploy("--publish", "app-api", "--tag", "v7", "--docker", docker[0])
    assert done.returncode == 0, done.stdout + done.stderr
    calls = [json.loads(line) for line in docker[1].read_text().splitlines()]
    verbs = [c["argv"][0] for c in calls]
    assert verbs == ["login", "build", "push"]
    assert calls[0]["argv"][1:4] == ["--username", "AWS", "--password-stdin"] and calls[0]["stdin"]
    image = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{PREFIX}/app-api:v7"
    build = calls[1]["argv"]
    assert image in build and build[-1].endswith("services")
    assert build[build.index("-f") + 1].endswith("services/app-api/Dockerfile")
    assert "EXTRAS=" in build and build[build.index("EXTRAS=") - 1] == "--build-arg"  # app-api has none
    assert calls[2]["argv"] == ["push", image]
    param = aws.client("ssm").get_parameter(Name=f"/{PREFIX}/app-api/image-tag")["Parameter"]
    assert param["Value"] == "v7"
    # The digest ECR gives the tag, recorded beside it.
    [image] = aws.client("ecr").describe_images(repositoryName=f"{PREFIX}/app-api",
                                                imageIds=[{"imageTag": "v7"}])["imageDetails"]
    digest = aws.client("ssm").get_parameter(Name=f"/{PREFIX}/app-api/image-digest")["Parameter"]["Value"]
    assert digest == image["imageDigest"] and digest.startswith("sha256:") and digest in done.stdout


def test_publish_refuses_a_dirty_tree_unless_allowed(aws: Aws, docker: tuple[str, Path], tmp_path: Path) -> None:
    stack_deployed(aws, "registry")
    aws.env.update(checkout(tmp_path / "dirty", dirty=True))
    refused = aws.deploy("--publish", "app-api", "--tag", "v9", "--docker", docker[0])
    assert refused.returncode == 2
    assert refused.stderr.strip() == ("error: the working tree has uncommitted changes, so the image would not be "
                                      "the commit it is tagged with — commit or stash them, or pass --allow-dirty")
    assert not docker[1].exists()  # docker never ran
    assert not [i for i in aws.client("ecr").describe_images(repositoryName=f"{PREFIX}/app-api")["imageDetails"]
                if "v9" in i.get("imageTags", [])]
    allowed = aws.deploy("--publish", "app-api", "--allow-dirty", "--docker", docker[0])
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    tag = aws.client("ssm").get_parameter(Name=f"/{PREFIX}/app-api/image-tag")["Parameter"]["Value"]
    assert "-dirty-" in tag  # the default tag never passes for a clean commit's
    wrong = aws.deploy("--publish", "frontend", "--allow-dirty")
    assert wrong.returncode == 2 and "--allow-dirty only go with --publish SERVICE" in wrong.stderr


def test_republishing_a_tag_already_in_ecr_skips_the_build(aws: Aws, docker: tuple[str, Path]) -> None:
    """Repositories are IMMUTABLE: a second push of the same tag would fail, so it is not attempted."""
    stack_deployed(aws, "registry")
    assert aws.deploy("--publish", "app-api", "--tag", "v8", "--docker", docker[0]).returncode == 0
    first = aws.client("ssm").get_parameter(Name=f"/{PREFIX}/app-api/image-tag")["Parameter"]["Version"]
    again = aws.deploy("--publish", "app-api", "--tag", "v8", "--docker", docker[0])
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already in ECR" in again.stdout
    verbs = [json.loads(line)["argv"][0] for line in docker[1].read_text().splitlines()]
    assert verbs == ["login", "build", "push"], "the second publish must not build or push"
    param = aws.client("ssm").get_parameter(Name=f"/{PREFIX}/app-api/image-tag")["Parameter"]
    assert (param["Value"], param["Version"]) == ("v8", first + 1)


def test_publish_without_registry_or_docker_fails_clearly(aws: Aws, docker: tuple[str, Path]) -> None:
    no_repo = aws.deploy("--publish", "app-api", "--tag", "v1", "--docker", docker[0])
    assert no_repo.returncode == 2 and "deploy the registry first" in no_repo.stderr
    no_docker = aws.deploy("--publish", "app-api", "--tag", "v1", "--docker", "/nonexistent/docker")
    assert no_docker.returncode == 2 and "not found" in no_docker.stderr
    unknown = aws.deploy("--publish", "billing", "--tag", "v1", "--docker", docker[0])
    assert unknown.returncode == 2 and "unknown service 'billing'" in unknown.stderr


def test_set_image_tag_checks_ecr_first(aws: Aws) -> None:
    stack_deployed(aws, "registry")
    absent = aws.deploy("--set-image-tag", "app-api=nope")
    assert absent.returncode == 2 and "'nope' is not in ECR repository" in absent.stderr
    assert aws.client("ssm").get_parameter(Name=f"/{PREFIX}/app-api/image-tag")["Parameter"]["Value"] != "nope"
    ok = aws.deploy("--set-image-tag", "app-api=local-placeholder")
    assert ok.returncode == 0, ok.stderr


def test_new_ssm_tag_and_the_emulator(aws: Aws, docker: tuple[str, Path]) -> None:
    """AWS re-resolves SSM-typed parameters for every change set, so a new tag is a change. Stock
    moto compares template and parameter *names* only; the emulator layer re-reads them like AWS.
    --status shows the pending rollout before it, and the rolled-out tag after."""
    stack_deployed(aws, "all")
    assert aws.deploy("--publish", "app-api", "--tag", "v2", "--docker", docker[0]).returncode == 0
    status = json.loads(aws.deploy("--status", "--output", "json").stdout)
    app = next(s for s in status["stacks"] if s["stack"] == "app-api")
    assert app["deployed_tag"] == "local-placeholder" and app["ssm_tag"] == "v2" and app["tag_pending"]
    assert "deployed local-placeholder ≠ SSM tag v2" in aws.deploy("--status").stdout
    again = aws.deploy("--stack", "app-api", "--yes", "--output", "json")
    assert again.returncode == 0
    stack = json.loads(again.stdout)["stacks"][0]
    assert stack["status"] == "updated"
    assert "TaskDefinition" in {c["logical_id"] for c in stack["changes"]}
    after = json.loads(aws.deploy("--status", "--output", "json").stdout)
    app = next(s for s in after["stacks"] if s["stack"] == "app-api")
    assert app["deployed_tag"] == "v2" and not app["tag_pending"]


def test_publish_frontend_uploads_and_prunes(aws: Aws) -> None:
    bucket = deploy_site(aws)
    s3 = aws.client("s3")
    s3.put_object(Bucket=bucket, Key="old.js", Body=b"stale")
    done = aws.deploy("--publish", "frontend")
    assert done.returncode == 0, done.stdout + done.stderr
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert "index.html" in keys and "old.js" not in keys
    head = s3.head_object(Bucket=bucket, Key="index.html")
    assert head["ContentType"].startswith("text/html") and head["CacheControl"] == "no-cache"
    assert "CloudFront invalidation skipped" in done.stderr  # a warning: stderr
    # What it did, key by key: every upload and every deletion.
    assert "  deleted old.js" in done.stdout.splitlines()
    assert {line.split()[1] for line in done.stdout.splitlines() if line.startswith("  uploaded ")} == keys


def write_site(root: Path, generation: str) -> Path:
    """A small site whose two assets change with every generation (so their hashed names do)."""
    src = root / generation
    src.mkdir()
    (src / "index.html").write_text('<!doctype html><link rel="stylesheet" href="styles.css">'
                                    '<script src="app.js"></script>', encoding="utf-8")
    (src / "app.js").write_text(f"console.log({generation!r});\n", encoding="utf-8")
    (src / "styles.css").write_text(f"/* {generation} */ body {{ margin: 0 }}\n", encoding="utf-8")
    return src


def latest_modified(bucket: str) -> dict[str, datetime]:
    """Upload times with microseconds, from the in-process emulator (the API rounds to seconds)."""
    from moto.s3.models import s3_backends

    keys = s3_backends["123456789012"]["aws"].buckets[bucket].keys
    return {name: keys[name].last_modified for name in keys}


def assets(keys: set[str] | dict[str, datetime]) -> set[str]:
    return {k for k in keys if k not in ("index.html", "config.json")}


def test_publish_frontend_keeps_the_previous_generation_for_pages_loaded_mid_deploy(
    aws: Aws, tmp_path: Path
) -> None:
    bucket = deploy_site(aws)
    generations = []
    for name in ("first", "second", "third"):
        done = aws.deploy("--publish", "frontend", "--site", str(write_site(tmp_path, name)))
        assert done.returncode == 0, done.stdout + done.stderr
        modified = latest_modified(bucket)
        new = {k for k in assets(modified) if not any(k in g for g in generations)}
        assert len(new) == 2, modified  # app.<hash>.js and styles.<hash>.css
        assert max(modified[k] for k in new) < modified["index.html"], "index.html must be uploaded last"
        generations.append(new)
        index = aws.client("s3").get_object(Bucket=bucket, Key="index.html")["Body"].read().decode()
        assert all(k in index for k in new)
        if name == "second":  # a page loaded before this publish still finds its assets
            assert assets(modified) == generations[0] | generations[1]
            assert "kept 2 the previous publish uses, deleted 0 older" in done.stdout
    assert assets(latest_modified(bucket)) == generations[1] | generations[2]
    assert "deleted 2 older" in done.stdout


def test_publish_frontend_with_a_site_without_pages_fails_clearly(aws: Aws, tmp_path: Path) -> None:
    deploy_site(aws)
    done = aws.deploy("--publish", "frontend", "--site", str(tmp_path))
    assert done.returncode == 2 and "cannot build the site: no .html page" in done.stderr
    misplaced = aws.deploy("--publish", "app-api", "--site", str(tmp_path))
    assert misplaced.returncode == 2 and "--site only goes with --publish frontend" in misplaced.stderr


def deploy_site(aws: Aws) -> str:
    """The infrastructure and frontend stacks deployed (their deploy is made once per worker, then restored:
    moto_state_support.prepared), and the site bucket's name."""
    def make(fresh: Aws) -> None:
        done = fresh.deploy("--stack", "infrastructure", "--stack", "frontend", "--yes")
        assert done.returncode == 0, done.stdout + done.stderr

    prepared(aws, "infrastructure frontend", make)
    return str(aws.client("ssm").get_parameter(Name=f"/{PREFIX}/frontend/bucket-name")["Parameter"]["Value"])


def bucket_keys(aws: Aws, bucket: str) -> set[str]:
    return {o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])}


def read_config(aws: Aws, bucket: str) -> tuple[dict[str, object], dict[str, object]]:
    answer = aws.client("s3").get_object(Bucket=bucket, Key="config.json")
    return json.loads(answer["Body"].read()), answer


COGNITO = {
    "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool1",
    "client-id": "4l5m6n7o",
    "audience": "4l5m6n7o",
    "authorize-url": "https://layered-dev.auth.us-east-1.amazoncognito.com/oauth2/authorize",
    "token-url": "https://layered-dev.auth.us-east-1.amazoncognito.com/oauth2/token",
}


def test_publish_frontend_writes_config_json_from_the_auth_parameters(aws: Aws) -> None:
    bucket = deploy_site(aws)
    off = aws.deploy("--publish", "frontend")
    assert off.returncode == 0, off.stdout + off.stderr
    config, answer = read_config(aws, bucket)
    assert config == {"auth": None} and "sign-in off" in off.stdout
    assert (answer["ContentType"], answer["CacheControl"]) == ("application/json", "no-cache")
    for key, value in COGNITO.items():  # what the auth stack writes
        aws.client("ssm").put_parameter(Name=f"/{PREFIX}/auth/{key}", Value=value, Type="String")
    on = aws.deploy("--publish", "frontend")
    assert on.returncode == 0, on.stdout + on.stderr
    config, _ = read_config(aws, bucket)
    assert config == {"auth": {"issuer": COGNITO["issuer"], "clientId": "4l5m6n7o", "audience": "4l5m6n7o",
                               "authorizeUrl": COGNITO["authorize-url"], "tokenUrl": COGNITO["token-url"],
                               "scope": "openid email profile"}}
    index = aws.client("s3").get_object(Bucket=bucket, Key="index.html")["Body"].read().decode()
    assert "connect-src 'self' https://layered-dev.auth.us-east-1.amazoncognito.com;" in index
    assert f"sign-in with {COGNITO['issuer']}" in on.stdout


@pytest.mark.parametrize(("values", "message"), [
    ({"issuer": COGNITO["issuer"]}, f"/{PREFIX}/auth/client-id is missing or empty"),
    ({"issuer": "http://id.example.com", "client-id": "c"}, f"/{PREFIX}/auth/issuer is 'http://id.example.com', "
                                                            "not an https:// URL"),
])
def test_publish_frontend_refuses_incomplete_auth_settings(aws: Aws, values: dict[str, str], message: str) -> None:
    bucket = deploy_site(aws)
    for key, value in values.items():
        aws.client("ssm").put_parameter(Name=f"/{PREFIX}/auth/{key}", Value=value, Type="String")
    done = aws.deploy("--publish", "frontend")
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert bucket_keys(aws, bucket) == set()


def site_with_dotfiles(root: Path) -> Path:
    src = write_site(root, "site")
    (src / ".env").write_text("API_KEY=secret\n", encoding="utf-8")
    (src / ".git").mkdir()
    (src / ".git" / "config").write_text("[remote]\n", encoding="utf-8")
    return src


def test_publish_frontend_never_uploads_dotfiles(aws: Aws, tmp_path: Path) -> None:
    bucket = deploy_site(aws)
    done = aws.deploy("--publish", "frontend", "--site", str(site_with_dotfiles(tmp_path)))
    assert done.returncode == 0, done.stdout + done.stderr
    keys = bucket_keys(aws, bucket)
    assert "index.html" in keys and "config.json" in keys and len(keys) == 4
    assert not [k for k in keys if k.startswith(".") or "/." in k or "env" in k or "git" in k]
    assert "skipped 2 dotfile(s), never published: .env, .git/" in done.stdout


@pytest.mark.parametrize("target", ["file", "folder"])
def test_publish_frontend_refuses_a_link_that_leaves_the_site(aws: Aws, tmp_path: Path, target: str) -> None:
    bucket = deploy_site(aws)
    src = write_site(tmp_path, "site")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "id_rsa").write_text("PRIVATE KEY", encoding="utf-8")
    (src / "key.txt" if target == "file" else src / "assets").symlink_to(
        secrets / "id_rsa" if target == "file" else secrets)
    done = aws.deploy("--publish", "frontend", "--site", str(src))
    assert done.returncode == 2, done.stdout + done.stderr
    name = "key.txt" if target == "file" else "assets"
    assert f"cannot build the site: {name} is a symbolic link that leaves the site folder" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert bucket_keys(aws, bucket) == set() and "uploaded" not in done.stdout


def test_publish_passes_the_configured_extras(aws: Aws, docker: tuple[str, Path]) -> None:
    """platform.toml gives inference-api extras = ["agentcore"]: the build gets EXTRAS=agentcore."""
    stack_deployed(aws, "registry")
    done = aws.deploy("--publish", "inference-api", "--tag", "v3", "--docker", docker[0])
    assert done.returncode == 0, done.stdout + done.stderr
    build = next(json.loads(line)["argv"] for line in docker[1].read_text().splitlines()
                 if json.loads(line)["argv"][0] == "build")
    assert build[build.index("EXTRAS=agentcore") - 1] == "--build-arg"
