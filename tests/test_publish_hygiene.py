"""`--publish SERVICE` builds only what its tag names: a clean services/ at a commit, unless
--allow-dirty. Run from a git copy of the project made for the test (the real checkout's state is
not the test's to change), against the emulator, with docker replaced by a recording script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_support import REPO, Aws
from test_deploy_publish import FAKE_DOCKER

PREFIX = "layered-dev"
PARTS = ("deploy.py", "deployer", "generators", "platform.toml", "templates", "services")
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The project's tracked files (as they are in the work tree), committed in a repository of their own."""
    root = tmp_path / "project"
    for name in _git(REPO, "ls-files", "--", *PARTS).splitlines():
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "snapshot")
    return root


def _publish(aws: Aws, root: Path, tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "docker.py"
    script.write_text(FAKE_DOCKER)
    env = {**aws.env, "DOCKER_LOG": str(tmp_path / "docker.log")}
    return subprocess.run([sys.executable, str(root / "deploy.py"), "--publish", "app-api", "--docker",
                           f"{sys.executable} {script}", *flags], cwd=root, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


def _tag(aws: Aws) -> str | None:
    found = aws.client("ssm").get_parameters(Names=[f"/{PREFIX}/app-api/image-tag"])["Parameters"]
    return found[0]["Value"] if found else None


@pytest.mark.parametrize("change", ["edit", "untracked"])
def test_a_dirty_tree_is_refused_unless_allowed(aws: Aws, checkout: Path, tmp_path: Path, change: str) -> None:
    assert aws.deploy("--stack", "registry", "--yes").returncode == 0
    sha, before = _git(checkout, "rev-parse", "--short", "HEAD"), _tag(aws)  # the emulator's placeholder
    if change == "edit":
        with (checkout / "services" / "app-api" / "README.md").open("a", encoding="utf-8") as fh:
            fh.write("\nan uncommitted line\n")
    else:
        (checkout / "services" / "app-api" / "scratch.py").write_text("print('not committed')\n", encoding="utf-8")
    refused = _publish(aws, checkout, tmp_path)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    first = "services/app-api/README.md" if change == "edit" else "services/app-api/scratch.py"
    assert refused.stderr.strip().splitlines() == [
        f"error: services/ has uncommitted changes (1 path(s), first {first}), so the image would not be the code "
        "its tag names — commit or stash them, or pass --allow-dirty"]
    assert not (tmp_path / "docker.log").exists() and _tag(aws) == before  # nothing built, nothing written
    # An explicit tag does not make a dirty tree clean either.
    assert _publish(aws, checkout, tmp_path, "--tag", "v1").returncode == 2
    allowed = _publish(aws, checkout, tmp_path, "--allow-dirty")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    tag = _tag(aws)
    assert tag is not None and tag.startswith(f"{sha}-dirty-")


def test_a_clean_tree_publishes_its_commit(aws: Aws, checkout: Path, tmp_path: Path) -> None:
    assert aws.deploy("--stack", "registry", "--yes").returncode == 0
    (checkout / "notes.txt").write_text("outside services/: not in the image\n", encoding="utf-8")
    done = _publish(aws, checkout, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _tag(aws) == _git(checkout, "rev-parse", "--short", "HEAD")
    verbs = [json.loads(line)["argv"][0] for line in (tmp_path / "docker.log").read_text().splitlines()]
    assert verbs == ["login", "build", "push"]


def test_outside_a_git_checkout_a_tag_needs_allow_dirty(aws: Aws, checkout: Path, tmp_path: Path) -> None:
    assert aws.deploy("--stack", "registry", "--yes").returncode == 0
    shutil.rmtree(checkout / ".git")
    before = _tag(aws)
    done = _publish(aws, checkout, tmp_path, "--tag", "v3")
    assert done.returncode == 2 and "not a git checkout?" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and _tag(aws) == before
    assert _publish(aws, checkout, tmp_path, "--tag", "v3", "--allow-dirty").returncode == 0
    assert _tag(aws) == "v3"
