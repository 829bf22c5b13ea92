"""Every configuration mistake: one line naming file, key and expectation; exit 2; nothing written."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from config_support import config_error
from state_support import refused_still
from zygote_support import run_deploy

ROOT = Path(__file__).resolve().parent.parent
BASE = (ROOT / "platform.toml").read_text()


def edit(old: str, new: str, count: int = 1) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, count)


def third_service(**overrides: str) -> str:
    fields = {"name": '"worker-api"', "port": "8000", "path_patterns": '["/worker/*"]', "priority": "20",
              "health_check_path": '"/worker/health"', "cpu": "256", "memory": "512", "desired_count": "1",
              "min_count": "1", "max_count": "2"}
    fields.update(overrides)
    return BASE + "\n[[services]]\n" + "".join(f"{k} = {v}\n" for k, v in fields.items())


CASES = {
    "unknown key": (edit("az_count = 2", "az_cuont = 2"),
                    r"platform\.toml: environments\.dev\.az_cuont: unknown key \(did you mean 'az_count'\?\)"),
    "bad cidr": (edit('vpc_cidr = "10.20.0.0/16"', 'vpc_cidr = "10.20.0.0/33"'),
                 r"environments\.dev\.vpc_cidr: '10\.20\.0\.0/33' is not a valid IPv4 CIDR block"),
    "cidr too small": (edit('vpc_cidr = "10.20.0.0/16"', 'vpc_cidr = "10.20.0.0/27"'),
                       r"environments\.dev\.vpc_cidr: .*expected /16 to /26"),
    "bad prefix": (edit('prefix = "layered-dev"', 'prefix = "Layered_Dev"'),
                   r"environments\.dev\.prefix: 'Layered_Dev' is not a valid prefix \(expected \[a-z\]"),
    "duplicate priority": (third_service(priority="10"),
                           r"services\[2\]\.priority: listener priority 10 is already used by 'inference-api'"),
    "priority out of range": (edit("priority = 10", "priority = 50001"),
                              r"services\[1\]\.priority: 50001 is not accepted \(expected 1\.\.50000\)"),
    "priority zero": (edit("priority = 1\n", "priority = 0\n"), r"services\[0\]\.priority: 0 is not accepted"),
    "duplicate service": (third_service(name='"app-api"'),
                          r"services\[2\]\.name: duplicate service name 'app-api'"),
    "duplicate path": (third_service(path_patterns='["/worker/*", "/health"]'),
                       r"services\[2\]\.path_patterns: '/health' is already routed to 'app-api'"),
    "bad fargate size": (edit("memory = 512", "memory = 4096"),
                         r"services\[0\]\.cpu/memory: Fargate does not accept cpu=256 with memory=4096 "
                         r"\(expected memory 512-2048 step 512\)"),
    "missing key": (edit('health_check_path = "/health"\n', ""),
                    r"services\[0\]\.health_check_path: missing required key \(expected a string\)"),
    "wrong type": (edit("port = 8000", 'port = "8000"'),
                   r"services\[0\]\.port: wrong type str \(expected an integer\)"),
    "bool is not an int": (edit("az_count = 2", "az_count = true"),
                           r"environments\.dev\.az_count: wrong type bool \(expected an integer\)"),
    "bad nat": (edit('nat = "instance"', 'nat = "two"'), r"environments\.dev\.nat: 'two' is not accepted"),
    "override of an unknown service": (
        edit("[environments.prod.services.app-api]", "[environments.prod.services.app-apj]"),
        r"environments\.prod\.services\.app-apj: no such service \(expected one of: app-api, inference-api\)"),
    "override of a routing field": (
        edit("[environments.prod.services.app-api]\n", "[environments.prod.services.app-api]\npriority = 3\n"),
        r"environments\.prod\.services\.app-api\.priority: unknown key \(expected one of: cpu, memory, "),
    "override makes a bad fargate size": (
        edit("cpu = 1024\nmemory = 2048", "cpu = 1024\nmemory = 512"),
        r"services\[1\] with environments\.prod\.services\.inference-api\.cpu/memory: Fargate does not accept "
        r"cpu=1024 with memory=512"),
    "not toml": (BASE + "\n[[services]\n", r"platform\.toml: not valid TOML: "),
    "bad error in another env": (edit('vpc_cidr = "10.30.0.0/16"', 'vpc_cidr = "10.30.0.0"'),
                                 r"environments\.prod\.vpc_cidr: wrong type|environments\.prod\.vpc_cidr: .*/32"),
    # Issue 9 inputs; test_config_inputs.py has every variant through load_config.
    "service named like a stack": (edit('name = "app-api"', 'name = "infrastructure"'),
                                   r"services\[0\]\.name: 'infrastructure' is the name of one of the platform's own"),
    "service named all": (third_service(name='"all"'), r"services\[2\]\.name: 'all' is the name of one"),
    "service name ECR refuses": (edit('name = "app-api"', 'name = "app-"'),
                                 r"services\[0\]\.name: 'app-' is not a valid service name \(expected lower-case"),
    "prefix ECR refuses": (edit('prefix = "layered-dev"', 'prefix = "bad-"'),
                           r"environments\.dev\.prefix: 'bad-' is not a valid prefix"),
    "environment named as a path": (edit("[environments.dev]", '[environments."../../../tmp/x"]'),
                                    r"environments\.\"\.\./\.\./\.\./tmp/x\": '\.\./\.\./\.\./tmp/x' is not a valid "
                                    r"environment name \(expected \[a-z\]\[a-z0-9-\]\*"),
    "too many path patterns": (third_service(path_patterns='["/a/*", "/b/*", "/c/*", "/d/*"]'),
                               r"services\[2\]\.path_patterns: 4 patterns, but the service's listener rule takes "
                               r"at most 3"),
    "port 80": (edit("port = 8000", "port = 80"),
                r"services\[0\]\.port: 80 is below 1024: the containers run as a non-root user"),
    "PORT in environment": (edit("max_streams_per_user = 4", 'max_streams_per_user = 4\n\n[services.environment]\n'
                                                            'PORT = "9000"'),
                            r"services\[1\]\.environment\.PORT: set by the platform itself"),
    "loopback cidr": (edit('vpc_cidr = "10.20.0.0/16"', 'vpc_cidr = "127.0.0.0/16"'),
                      r"environments\.dev\.vpc_cidr: '127\.0\.0\.0/16' is not inside a private range"),
    "unknown region": (edit('region = "us-east-1"', 'region = "us-east-9"'),
                       r"environments\.dev\.region: 'us-east-9' is not an AWS region in botocore's endpoint data "
                       r"\(expected a known region such as us-east-\d"),
}


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_deploy(["--config", str(config), "--synth", *args], dict(os.environ), timeout=60)


# Through deploy.py itself as well (a TOML parse error and a schema error): the exit path every case
# shares (ConfigError -> main() -> one line, exit 2, nothing written) stays covered by real runs.
THROUGH_DEPLOY = ("not toml", "unknown key")


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_error_is_one_line_exit_2_and_writes_nothing(case: str, tmp_path: Path) -> None:
    text, expected = CASES[case]
    line = config_error(tmp_path, text)
    assert re.search(expected, line), line


@pytest.mark.parametrize("case", THROUGH_DEPLOY)
def test_deploy_py_prints_that_line_exits_2_and_writes_nothing(case: str, tmp_path: Path, project_copy: Path) -> None:
    text, _ = CASES[case]
    config = tmp_path / "cli" / "platform.toml"
    config.parent.mkdir()
    config.write_text(text)
    proc = refused_still(project_copy, "--config", str(config), "--synth")  # asserts no file of it changed
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [config_error(tmp_path / "in-process", text)]
    assert list(config.parent.iterdir()) == [config]


def test_unknown_environment_and_bad_prefix_override(tmp_path: Path) -> None:
    proc = run_deploy(["--synth", "--env", "staging"], dict(os.environ), timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: platform.toml: environments.staging: no such environment "
                                   "(expected one of: dev, prod)")
    proc = run_deploy(["--synth", "--prefix", "9bad"], dict(os.environ), timeout=60)
    assert proc.returncode == 2
    assert "--prefix: '9bad' is not a valid prefix" in proc.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    proc = run(tmp_path / "nope.toml")
    assert proc.returncode == 2 and "file not found" in proc.stderr and len(proc.stderr.splitlines()) == 1
