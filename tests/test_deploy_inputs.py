"""Bad flags, environment and endpoint inputs: exit 2, one line, and nothing changed anywhere —
not the work tree (`git status`), not the emulator's stacks, change sets, parameters or buckets."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_support import REPO, Aws, clean_env
from moto_state_support import stack_deployed
from state_support import snapshot
from zygote_support import popen_deploy

PREFIX = "layered-dev"


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr and "this is a bug" not in stderr
    return lines[0]


@pytest.fixture
def deployed(aws: Aws) -> Aws:
    """Something to lose: the registry deployed (stack, parameters, images)."""
    return stack_deployed(aws, "registry")


@pytest.mark.parametrize("args, expected", [
    (["--stack", "nope", "--synth"],
     "--stack only goes with a deploy, --plan, --execute or --destroy, not with --synth"),
    (["--output", "json", "--graph"], "--output only goes with"),
    (["--check", "--status"], "--check only goes with --synth"),
    (["--force", "--stack", "all", "--yes"], "--force only goes with --destroy"),
    (["--yes", "--plan", "--stack", "all"], "--yes only goes with"),
    (["--tag", "x", "--set-image-tag", "app-api=x"], "--tag only goes with --publish"),
    (["--site", "x", "--publish", "app-api"], "--site only goes with --publish frontend"),
    (["--region", "eu-west-1", "--cost"], "--region only goes with"),
    (["--stack", "all", "--wait", "soon", "--yes"], "'soon' is not a number of seconds"),
    (["--stack", "all", "--yes", "--region", "mars"], "--region: 'mars' is not an AWS region"),
    (["--stack", "all", "--yes", "--profile", "nope"], "The config profile (nope) could not be found"),
    (["--status", "--profile", "nope"], "The config profile (nope) could not be found"),
    (["--stack", "all", "--yes", "--config", "tests"], "tests is a directory"),
    (["--local-stop", "--env", "prod"], "--env only goes with"),
])
def test_bad_flags_are_one_line_exit_2_and_change_nothing(deployed: Aws, args: list[str], expected: str) -> None:
    before = snapshot(deployed)
    done = deployed.deploy(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in one_error_line(done.stderr)
    assert snapshot(deployed) == before


def test_a_config_that_is_not_utf8_is_one_line(deployed: Aws, tmp_path: Path) -> None:
    config = tmp_path / "platform.toml"
    config.write_bytes((REPO / "platform.toml").read_bytes().replace(b"layered-platform", b"layered-\xe9"))
    before = snapshot(deployed)
    done = deployed.deploy("--config", str(config), "--stack", "all", "--yes")
    assert done.returncode == 2
    assert "is not UTF-8 text" in one_error_line(done.stderr)
    assert snapshot(deployed) == before


@pytest.mark.parametrize("url", ["notaurl", "http://", "ftp://127.0.0.1:1", "http://127.0.0.1:99999"])
def test_an_endpoint_that_is_not_a_url_is_one_line(deployed: Aws, url: str) -> None:
    before = snapshot(deployed)
    done = deployed.deploy("--status", env={**deployed.env, "AWS_ENDPOINT_URL": url})
    assert done.returncode == 2, done.stderr
    assert "AWS_ENDPOINT_URL=" in one_error_line(done.stderr)
    assert snapshot(deployed) == before


@pytest.mark.parametrize("args", [["--status"], ["--status", "--output", "json"], ["--graph"]])
def test_a_broken_pipe_ends_quietly(deployed: Aws, args: list[str]) -> None:
    proc = popen_deploy(args, deployed.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # what `| head -1` does once it has its line: the reader is gone
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert err == "", err


def run_on_terminal(env: dict[str, str], *args: str, answers: str) -> tuple[int, str]:
    """deploy.py with a terminal as stdin (so it asks), answering from `answers`."""
    parent, child = pty.openpty()
    proc = popen_deploy(list(args), env, stdin=child, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(child)
    os.write(parent, answers.encode())
    out, err = proc.communicate(timeout=60)
    os.close(parent)
    return proc.returncode, out + err


def test_declining_destroy_exits_4_and_deletes_nothing(deployed: Aws) -> None:
    cf = deployed.client("cloudformation")
    cf.update_termination_protection(StackName=f"{PREFIX}-registry", EnableTerminationProtection=False)
    before = snapshot(deployed)
    code, text = run_on_terminal(deployed.env, "--destroy", "--stack", "registry", "--force", answers="no\n")
    assert code == 4, text
    assert "not confirmed — nothing was deleted" in text
    assert snapshot(deployed) == before


def test_declining_a_change_set_exits_4(deployed: Aws) -> None:
    code, text = run_on_terminal(deployed.env, "--stack", "infrastructure", answers="n\n")
    assert code == 4, text
    assert "declined" in text
    assert f"{PREFIX}-infrastructure" not in deployed.stacks()  # the create's empty shell is not left either


def test_unknown_local_port_setting_is_one_line() -> None:
    env = {**clean_env(None), "PLATFORM_LOCAL_PORT": "http"}
    done = subprocess.run([sys.executable, str(REPO / "deploy.py"), "--local-serve"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "PLATFORM_LOCAL_PORT='http' is not a port number" in one_error_line(done.stderr)
