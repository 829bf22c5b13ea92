"""The synth command: stale detection, prefix overrides kept out of git, purity, a third service."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

from zygote_support import run_deploy

from generators.config import ServiceSpec, load_config
from generators.contract import build_contract, launch_order
from generators.synth import render, synth

ROOT = Path(__file__).resolve().parent.parent


def deploy(*args: str) -> subprocess.CompletedProcess[str]:
    return run_deploy(list(args), dict(os.environ), timeout=60)  # deploy.py, forked pre-imported


def test_check_reports_stale_files_and_synth_fixes_them() -> None:
    out = ROOT / "build" / "templates" / "dev" / "synth-check-test"
    shutil.rmtree(out, ignore_errors=True)
    try:
        proc = deploy("--synth", "--check", "--prefix", "synth-check-test")
        assert proc.returncode == 1
        assert proc.stdout.count("stale") == 8 and "app-api.json" in proc.stdout
        assert "python deploy.py --synth" in proc.stderr
        assert not out.exists(), "--check must write nothing"
        assert deploy("--synth", "--prefix", "synth-check-test").returncode == 0
        assert sorted(p.name for p in out.iterdir()) == sorted(
            f"{s}.json" for s in ("infrastructure", "registry", "app-api", "inference-api", "frontend", "auth",
                                  "alerts", "ci"))
        assert '"/synth-check-test/network/vpc-id"' in (out / "infrastructure.json").read_text()
        proc = deploy("--synth", "--check", "--prefix", "synth-check-test")
        assert proc.returncode == 0, proc.stdout + proc.stderr
    finally:
        shutil.rmtree(out, ignore_errors=True)


def test_committed_templates_are_current_for_every_environment() -> None:
    # What `--synth --check --env ENV` runs (its exit codes and output are the test above's).
    for env in ("dev", "prod"):
        result = synth(load_config(env=env), check=True)
        assert not result.stale, f"{env}: run `python deploy.py --synth --env {env}`: {result.changed + result.removed}"


def test_synth_path_imports_no_aws_sdk() -> None:
    code = ("import sys, runpy; sys.argv=['deploy.py','--synth','--check'];\n"
            "try: runpy.run_path('deploy.py', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "bad = [m for m in ('boto3', 'botocore', 'moto') if m in sys.modules]\n"
            "print(bad)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout + proc.stderr


def test_a_third_service_is_one_config_entry() -> None:
    cfg = load_config()
    worker = ServiceSpec(name="worker-api", port=9000, path_patterns=("/worker/*",), priority=20,
                         health_check_path="/worker/health", cpu=256, memory=512, desired_count=1,
                         min_count=1, max_count=3)
    rendered = render(replace(cfg, services=(*cfg.services, worker)))
    assert "worker-api" in rendered
    t = json.loads(rendered["worker-api"])
    rule = next(r for r in t["Resources"].values() if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule")
    assert rule["Properties"]["Priority"] == 20
    registry = json.loads(rendered["registry"])
    assert "WorkerApiRepository" in registry["Resources"]
    contract = build_contract({k: json.loads(v) for k, v in rendered.items()})
    assert "worker-api" in launch_order(contract)[-1]  # with the other services, after auth


def test_same_config_renders_byte_identical_output() -> None:
    cfg = load_config()
    assert render(cfg) == render(cfg)


def test_config_file_documents_every_default_service() -> None:
    raw = tomllib.loads((ROOT / "platform.toml").read_text())
    assert [s["name"] for s in raw["services"]] == ["app-api", "inference-api"]
