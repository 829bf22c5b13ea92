"""`--publish SERVICE`, `--set-image-tag SERVICE=TAG` and `--publish frontend`.

An image tag reaches a service only through SSM: push the image, then write
/<prefix>/<service>/image-tag (overwrite, never with tags); the next deploy of the service stack
reads it. Docker runs through a command that can be substituted (--docker / PLATFORM_DOCKER).
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from botocore.exceptions import ClientError

from deployer.aws import runner, storage
from deployer.commands import preflight
from deployer.commands.deploy import EXIT_FAILED, EXIT_OK, Options, Session, connect, prepare
from deployer.errors import UsageError
from deployer.planning import site
from deployer.planning.platforms import platform_for
from generators.agent_config import image_extras
from generators.naming import IMAGE_DIGEST_KEY, IMAGE_TAG_KEY, repository_name, service_param

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES_DIR = REPO_ROOT / "services"


def _service_session(opts: Options, service: str) -> tuple[Session, runner.Clients]:
    s = prepare(opts, need_stacks=False)
    known = [svc.name for svc in s.cfg.services]
    if service not in known:
        raise UsageError(f"unknown service {service!r} — choose from: {', '.join(known + ['frontend'])}")
    clients = connect(s, opts)
    preflight.identity(clients, s.cfg)
    return s, clients


def _repository(s: Session, clients: runner.Clients, service: str) -> tuple[str, str]:
    repo = repository_name(s.cfg.prefix, service)
    uri = storage.repository_uri(clients.ecr, repo)
    if uri is None:
        raise UsageError(f"ECR repository {repo} does not exist — deploy the registry first: "
                         f"python deploy.py --stack registry --env {s.cfg.env.name}")
    return repo, uri


def git_state() -> tuple[str, bool]:
    """(short commit SHA, dirty?) of the checkout (GIT_DIR/GIT_WORK_TREE are honoured, as by git itself)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, check=True, capture_output=True, text=True).stdout
    try:
        dirty, sha = git("status", "--porcelain", "--untracked-files=no"), git("rev-parse", "--short", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        raise UsageError("cannot read the git commit of the sources — publish from a git checkout, or pass "
                         "--tag TAG --allow-dirty") from None
    return sha.strip(), bool(dirty.strip())


def choose_tag(tag: str | None, allow_dirty: bool) -> str:
    """The tag must name the code in the image: a tree with uncommitted changes is refused unless
    --allow-dirty, and then the default tag says so (<sha>-dirty-<time>, never a clean commit's tag)."""
    if tag and allow_dirty:
        return tag
    sha, dirty = git_state()
    if dirty and not allow_dirty:
        raise UsageError("the working tree has uncommitted changes, so the image would not be the commit it "
                         "is tagged with — commit or stash them, or pass --allow-dirty")
    if tag:
        return tag
    return f"{sha}-dirty-{int(time.time())}" if dirty else sha


def _docker(command: list[str], *args: str, stdin: str | None = None) -> None:
    shown = " ".join([*command, *args])
    try:
        done = subprocess.run([*command, *args], input=stdin, text=True)
    except OSError as exc:
        raise UsageError(f"cannot run {command[0]!r}: {exc} — install Docker or set --docker/PLATFORM_DOCKER") from None
    if done.returncode != 0:
        raise RuntimeError(f"`{shown}` failed with exit status {done.returncode}")


def publish_service(opts: Options, service: str, tag: str | None, docker: str | None,
                    allow_dirty: bool = False) -> int:
    tag = choose_tag(tag, allow_dirty)
    command = shlex.split(docker or os.environ.get("PLATFORM_DOCKER") or "docker")
    if not command or shutil.which(command[0]) is None:
        raise UsageError(f"docker command {command[0] if command else ''!r} not found — install Docker, or "
                         "point --docker / PLATFORM_DOCKER at a compatible command (podman works)")
    s, clients = _service_session(opts, service)
    repo, uri = _repository(s, clients, service)
    if storage.image_exists(clients.ecr, repo, tag):
        # Repositories are IMMUTABLE: the tag already names exactly one image, and a second push
        # of it would be refused. Re-publishing a commit only re-points SSM.
        s.report.line(f"publish {service}: {uri}:{tag} is already in ECR (tags are immutable) — not rebuilt")
        return _write_tag(s, clients, service, tag)
    registry, user, password = storage.registry_login(clients.ecr)
    # The context is services/ so the build can copy the shared service-kit package too; each
    # Dockerfile's own <Dockerfile>.dockerignore keeps the context to what that image needs.
    image, dockerfile = f"{uri}:{tag}", SERVICES_DIR / service / "Dockerfile"
    s.report.line(f"publish {service}: {image}")
    try:
        _docker(command, "login", "--username", user, "--password-stdin", registry, stdin=password)
        # For the architecture this environment runs the service on (arch in platform.toml).
        _docker(command, "build", "--platform", platform_for(s.cfg, service), "--tag", image,
                "--build-arg", f"IMAGE_TAG={tag}",
                # What platform.toml configures is what is deployed: the image pipeline passes the same.
                "--build-arg", f"EXTRAS={image_extras(s.cfg, service)}",
                "-f", str(dockerfile), str(SERVICES_DIR))
        _docker(command, "push", image)
    except RuntimeError as exc:
        s.report.line(f"error: {exc} — nothing was written to SSM")
        return EXIT_FAILED
    if not storage.image_exists(clients.ecr, repo, tag):
        s.report.line(f"error: the push reported success but {repo} has no tag {tag!r} — nothing written to SSM")
        return EXIT_FAILED
    return _write_tag(s, clients, service, tag)


def set_image_tag(opts: Options, assignment: str) -> int:
    service, sep, tag = assignment.partition("=")
    if not sep or not service or not tag:
        raise UsageError(f"--set-image-tag expects SERVICE=TAG, got {assignment!r} — "
                         "e.g. --set-image-tag app-api=3f2c1ab")
    s, clients = _service_session(opts, service)
    repo, _ = _repository(s, clients, service)
    if not storage.image_exists(clients.ecr, repo, tag):
        raise UsageError(f"tag {tag!r} is not in ECR repository {repo} — push it first "
                         f"(python deploy.py --publish {service} --tag {tag})")
    return _write_tag(s, clients, service, tag)


def _write_tag(s: Session, clients: runner.Clients, service: str, tag: str) -> int:
    path = service_param(s.cfg.prefix, service, IMAGE_TAG_KEY)
    # The digest first, beside the tag (/<prefix>/<service>/image-digest): what the tag meant when it
    # was published, for anyone checking later that the running image is the one that was built.
    digest = storage.image_digest(clients.ecr, repository_name(s.cfg.prefix, service), tag)
    if digest:
        storage.put_parameter(clients.ssm, service_param(s.cfg.prefix, service, IMAGE_DIGEST_KEY), digest)
    version = storage.put_parameter(clients.ssm, path, tag)
    s.report.line(f"{path} = {tag} (version {version}, {digest or 'digest unknown'}); roll it out with: "
                  f"python deploy.py --stack {service} --env {s.cfg.env.name}")
    return EXIT_OK


def _frontend_build() -> ModuleType:
    path = SERVICES_DIR / "frontend" / "build.py"
    spec = importlib.util.spec_from_file_location("frontend_build", path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {path} — is services/frontend present?")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def publish_frontend(opts: Options, site_src: Path | None = None) -> int:
    s = prepare(opts, need_stacks=False)
    clients = connect(s, opts)
    preflight.identity(clients, s.cfg)
    bucket_path, dist_path = f"/{s.cfg.prefix}/frontend/bucket-name", f"/{s.cfg.prefix}/frontend/distribution-id"
    found = storage.get_parameters(clients.ssm, [bucket_path, dist_path])
    if bucket_path not in found:
        raise UsageError(f"{bucket_path} does not exist — deploy the frontend stack first: "
                         f"python deploy.py --stack frontend --env {s.cfg.env.name}")
    config = _site_config(s, clients)
    build = _frontend_build()
    src = site_src or build.DEFAULT_SRC
    # Built outside the work tree: a publish never depends on (or rewrites) a dist/ left there.
    with tempfile.TemporaryDirectory(prefix="frontend-dist-") as dist:
        try:
            _, skipped = build.source_files(src)
            build.build(src, Path(dist), config)
        except (FileNotFoundError, ValueError) as exc:
            raise UsageError(f"cannot build the site: {exc}") from None
        if skipped:
            s.report.line(f"skipped {len(skipped)} dotfile(s), never published: {', '.join(skipped)}")
        items = _upload(s, clients, build, found[bucket_path], build.upload_plan(Path(dist)))
    return _invalidate(s, clients, found.get(dist_path), build.invalidation_paths(items))


def _site_config(s: Session, clients: runner.Clients) -> dict[str, Any]:
    """config.json from the auth stack's parameters; sign-in is off when there is no issuer."""
    paths = {key: service_param(s.cfg.prefix, "auth", key) for key in site.AUTH_PARAMS}
    found = storage.get_parameters(clients.ssm, paths.values())
    try:
        config = site.site_config({key: found[path] for key, path in paths.items() if path in found})
    except ValueError as exc:
        raise UsageError(f"/{s.cfg.prefix}/{exc} — redeploy the auth stack: "
                         f"python deploy.py --stack auth --env {s.cfg.env.name}") from None
    auth = config["auth"]
    s.report.line(f"config.json: sign-in with {auth['issuer']} (client {auth['clientId']})" if auth
                  else f"config.json: sign-in off (no {paths['issuer']} parameter)")
    return config


def _upload(s: Session, clients: runner.Clients, build: ModuleType, bucket: str, plan: list[Any]) -> list[Any]:
    """Assets, then pages; then delete what neither this publish nor the previous one uses."""
    before = storage.list_keys(clients.s3, bucket)
    # Read before they are overwritten: the pages visitors may still have open name these assets.
    published = {k: storage.get_text(clients.s3, bucket, k) for k in site.page_keys(before, build.PAGE_SUFFIXES)}
    previous = site.previous_generation(published, build.asset_refs) & before
    items = site.upload_order(plan, lambda i: str(i.key), build.PAGE_SUFFIXES)
    for item in items:
        storage.upload_file(clients.s3, bucket, item.key, str(item.path), item.content_type, item.cache_control)
        s.report.line(f"  uploaded {item.key} ({item.cache_control})")
    current = {i.key for i in items}
    stale = site.stale_keys(before, current, previous)
    storage.delete_keys(clients.s3, bucket, stale)
    for key in sorted(stale):
        s.report.line(f"  deleted {key}")
    s.report.line(f"uploaded {len(items)} file(s) to s3://{bucket} (pages last), kept {len(previous - current)} "
                  f"the previous publish uses, deleted {len(stale)} older")
    return items


def _invalidate(s: Session, clients: runner.Clients, distribution: str | None, paths: list[str]) -> int:
    if not distribution:
        s.report.warn("no distribution id in SSM: CloudFront invalidation skipped")
        return EXIT_OK
    try:
        ref = storage.invalidate(clients.cloudfront, distribution, paths)
    except ClientError as exc:
        if os.environ.get("AWS_ENDPOINT_URL") and runner.error_code(exc) == "NoSuchDistribution":
            s.report.warn("CloudFront invalidation skipped: the emulator has no distribution "
                          "(moto's CloudFormation does not create AWS::CloudFront::Distribution)")
            return EXIT_OK
        s.report.line(f"error: CloudFront invalidation failed: {runner.error_message(exc)}")
        return EXIT_FAILED
    s.report.line(f"CloudFront invalidation {ref} for {', '.join(paths)}")
    return EXIT_OK
