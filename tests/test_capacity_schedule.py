"""Capacity (Spot, mixed, arm64), working-hours schedules and nat = "instance": the configuration's
mistakes (one line, exit 2, nothing written) and what the templates get."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from config_support import config_error
from edge_support import BASE, REPO
from zygote_support import run_deploy

from generators.config import load_config
from generators.schedule_config import describe_next, next_change, next_sleep
from generators.synth import stack_builders

DEV_SCHEDULE = 'schedule = { weekdays = "07:00-20:00", timezone = "Europe/Berlin" }\n'
DEV_NAT = 'nat = "instance"\n'
PROD_APP = "[environments.prod.services.app-api]\n"


def with_schedule(value: str) -> str:
    assert DEV_SCHEDULE in BASE
    return BASE.replace(DEV_SCHEDULE, f"schedule = {value}\n", 1)


def with_dev_app(lines: str) -> str:
    """dev's own table for app-api, with these keys (the example sets capacity = "spot" for every service)."""
    assert BASE.index(DEV_NAT) < BASE.index("[environments.prod]")
    return BASE.replace(DEV_NAT, DEV_NAT, 1).replace(
        "[environments.prod]\n", f"[environments.dev.services.app-api]\n{lines}\n\n[environments.prod]\n", 1)


def with_prod_app(lines: str) -> str:
    return BASE.replace(f'{PROD_APP}capacity = "fargate"\narch = "arm64"\n', f"{PROD_APP}{lines}\n", 1)


CASES = {
    "unknown capacity": (with_dev_app('capacity = "ondemand"'),
                         r"environments\.dev\.services\.app-api\.capacity: 'ondemand' is not accepted "
                         r"\(expected 'fargate' or 'spot' or 'mixed'\)"),
    "unknown arch": (with_dev_app('arch = "arm"'),
                     r"environments\.dev\.services\.app-api\.arch: 'arm' is not accepted \(expected 'x86_64' or "
                     r"'arm64'\)"),
    "spot with arm64": (with_dev_app('capacity = "spot"\narch = "arm64"'),
                        r"services\[0\] with environments\.dev\.services\.app-api\.capacity: 'spot' with arch = "
                        r"\"arm64\": Fargate Spot runs X86_64 tasks only"),
    "mixed with arm64": (with_dev_app('capacity = "mixed"\narch = "arm64"'),
                         r"\.capacity: 'mixed' with arch = \"arm64\": Fargate Spot runs X86_64 tasks only"),
    "spot_base without mixed": (with_dev_app('capacity = "spot"\nspot_base = 2'),
                                r"\.spot_base: only used with capacity = \"mixed\""),
    "spot in production": (with_prod_app('capacity = "spot"'),
                           r"environments\.prod\.services\.app-api\.capacity: \"spot\" in a production environment "
                           r"makes every task interruptible \(expected \"mixed\" or \"fargate\", or "
                           r"allow_spot_in_production = true"),
    "malformed schedule": (with_schedule('{ weekdays = "7-20", timezone = "Europe/Berlin" }'),
                           r"environments\.dev\.schedule\.weekdays: '7-20' is not a time window \(expected "
                           r"HH:MM-HH:MM"),
    "hour out of range": (with_schedule('{ weekdays = "07:00-24:30", timezone = "UTC" }'),
                          r"schedule\.weekdays: '07:00-24:30' is not a time window"),
    "window ends before it starts": (with_schedule('{ weekdays = "20:00-07:00", timezone = "UTC" }'),
                                     r"schedule\.weekdays: '20:00-07:00' ends before it starts"),
    "overlapping windows": (with_schedule('{ weekdays = "07:00-12:00, 11:00-20:00", timezone = "UTC" }'),
                            r"schedule\.weekdays: 11:00-20:00 overlaps or touches 07:00-12:00"),
    "unknown time zone": (with_schedule('{ weekdays = "07:00-20:00", timezone = "Europe/Atlantis" }'),
                          r"environments\.dev\.schedule\.timezone: 'Europe/Atlantis' is not a known time zone"),
    "schedule without timezone": (with_schedule('{ weekdays = "07:00-20:00" }'),
                                  r"environments\.dev\.schedule\.timezone: missing required key"),
    "unknown nat": (BASE.replace('nat = "instance"', 'nat = "gateway"', 1),
                    r"environments\.dev\.nat: 'gateway' is not accepted \(expected 'single' or 'instance' or 'none'\)"),
}


def run_synth(config: Path) -> subprocess.CompletedProcess[str]:
    return run_deploy(["--config", str(config), "--synth"], dict(os.environ), timeout=60)



@pytest.mark.parametrize("case", sorted(CASES))
def test_mistake_is_one_line_exit_2_and_writes_nothing(case: str, tmp_path: Path) -> None:
    text, expected = CASES[case]
    line = config_error(tmp_path, text)  # tests/config_support.py: the line deploy.py prints
    assert re.search(r"^error: platform\.toml: .*" + expected, line), line


def test_deploy_py_prints_that_line_exits_2_and_writes_nothing(refused_synth: Callable[..., str],
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    text, _ = CASES["unknown time zone"]
    assert refused_synth(text) == config_error(tmp_path_factory.mktemp("in-process"), text)


def test_arm64_with_a_dependency_known_not_to_support_it_names_it(tmp_path: Path) -> None:
    """The services' sources sit beside the configuration file: services/<name>/pyproject.toml, Dockerfile."""
    config = tmp_path / "platform.toml"
    config.write_text(with_dev_app('capacity = "fargate"\narch = "arm64"'))
    service = tmp_path / "services" / "app-api"
    service.mkdir(parents=True)
    (service / "Dockerfile").write_text("FROM python:3.11-slim AS builder\nFROM builder\n")
    (service / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["fastapi>=0.1", "MKL==2024.1"]\n')
    proc = run_synth(config)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert ('environments.dev.services.app-api.arch: "arm64" but dependency mkl has no arm64 build '
            "(Intel oneAPI Math Kernel Library: x86_64 wheels only)") in proc.stderr
    (service / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["fastapi>=0.1"]\n')
    (service / "Dockerfile").write_text("FROM mcr.microsoft.com/mssql/server:2022-latest\n")
    proc = run_synth(config)
    assert proc.returncode == 2 and "base image mcr.microsoft.com/mssql/server has no arm64 build" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["platform.toml", "services"]


def test_spot_in_production_with_the_override_and_mixed_are_accepted(tmp_path: Path) -> None:
    config = tmp_path / "platform.toml"
    text = with_prod_app('capacity = "spot"').replace("\nproduction = true\n", "\nproduction = true\n"
                                                      "allow_spot_in_production = true\n", 1)
    config.write_text(text)
    assert {s.name: s.capacity for s in load_config(config, "prod").services}["app-api"] == "spot"
    config.write_text(with_prod_app('capacity = "mixed"\nspot_base = 2'))
    app = load_config(config, "prod").services[0]
    assert (app.capacity, app.arch, app.spot_base) == ("mixed", "x86_64", 2)


def templates(config_text: str, env: str, tmp_path: Path) -> dict[str, dict[str, Any]]:
    config = tmp_path / "platform.toml"
    config.write_text(config_text)
    cfg = load_config(config, env)
    return {stack: json.loads(json.dumps(build(cfg).to_dict())) for stack, build in stack_builders(cfg).items()}


def resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


@pytest.mark.parametrize(("lines", "strategy", "arch"), [
    ('capacity = "fargate"', [{"CapacityProvider": "FARGATE", "Weight": 1}], "X86_64"),
    ('capacity = "spot"', [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}], "X86_64"),
    ('capacity = "mixed"', [{"CapacityProvider": "FARGATE", "Base": 1, "Weight": 0},
                            {"CapacityProvider": "FARGATE_SPOT", "Weight": 1}], "X86_64"),
    ('capacity = "mixed"\nspot_base = 3', [{"CapacityProvider": "FARGATE", "Base": 3, "Weight": 0},
                                           {"CapacityProvider": "FARGATE_SPOT", "Weight": 1}], "X86_64"),
    ('capacity = "fargate"\narch = "arm64"', [{"CapacityProvider": "FARGATE", "Weight": 1}], "ARM64"),
])
def test_capacity_provider_strategy_and_runtime_platform(lines: str, strategy: list[dict[str, Any]], arch: str,
                                                         tmp_path: Path) -> None:
    app = templates(with_dev_app(lines), "dev", tmp_path)["app-api"]
    service = resource(app, "Service")
    assert service["CapacityProviderStrategy"] == strategy
    assert "LaunchType" not in service, "CloudFormation refuses LaunchType together with capacity providers"
    assert resource(app, "TaskDefinition")["RuntimePlatform"] == {"CpuArchitecture": arch,
                                                                  "OperatingSystemFamily": "LINUX"}


def test_cluster_offers_both_fargate_capacity_providers() -> None:
    infra = json.loads((REPO / "templates" / "dev" / "infrastructure.json").read_text())
    assert resource(infra, "ClusterCapacityProviders")["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]


def test_examples_dev_spot_and_prod_arm64() -> None:
    for env, capacity, arch in (("dev", "FARGATE_SPOT", "X86_64"), ("prod", "FARGATE", "ARM64")):
        for svc in ("app-api", "inference-api"):
            t = json.loads((REPO / "templates" / env / f"{svc}.json").read_text())
            assert [i["CapacityProvider"] for i in resource(t, "Service")["CapacityProviderStrategy"]] == [capacity]
            assert resource(t, "TaskDefinition")["RuntimePlatform"]["CpuArchitecture"] == arch


def test_scheduled_actions_wake_to_the_floor_and_sleep_to_zero(tmp_path: Path) -> None:
    text = with_schedule('{ weekdays = "07:30-12:00, 13:00-19:45", timezone = "America/New_York" }')
    text = text.replace("min_count = 1\nmax_count = 4", "min_count = 0\nmax_count = 4", 1)
    app = templates(text, "dev", tmp_path)["app-api"]
    target = resource(app, "ScalableTarget")
    assert target["MinCapacity"] == 0 and target["MaxCapacity"] == 4
    actions = [(a["ScheduledActionName"], a["Schedule"], a["Timezone"], a["ScalableTargetAction"])
               for a in target["ScheduledActions"]]
    assert actions == [
        ("app-api-wake-1", "cron(30 7 ? * MON-FRI *)", "America/New_York", {"MinCapacity": 1, "MaxCapacity": 4}),
        ("app-api-sleep-1", "cron(0 12 ? * MON-FRI *)", "America/New_York", {"MinCapacity": 0, "MaxCapacity": 0}),
        ("app-api-wake-2", "cron(0 13 ? * MON-FRI *)", "America/New_York", {"MinCapacity": 1, "MaxCapacity": 4}),
        ("app-api-sleep-2", "cron(45 19 ? * MON-FRI *)", "America/New_York", {"MinCapacity": 0, "MaxCapacity": 0}),
    ]
    assert "DesiredCount" not in resource(app, "Service"), "a stack update must not wake a sleeping service"


def test_a_fixed_size_service_gets_a_target_for_its_schedule_only(tmp_path: Path) -> None:
    text = BASE.replace("min_count = 1\nmax_count = 4", "min_count = 1\nmax_count = 1", 1)
    app = templates(text, "dev", tmp_path)["app-api"]
    assert "ScalableTarget" in app["Resources"] and "CpuScalingPolicy" not in app["Resources"]
    assert "DesiredCount" not in resource(app, "Service")
    prod = templates(text, "prod", tmp_path)["app-api"]
    assert "ScheduledActions" not in resource(prod, "ScalableTarget"), "prod has no schedule"


def test_next_change_and_status_line() -> None:
    schedule = load_config(REPO / "platform.toml", "dev").env.schedule
    assert schedule is not None
    friday_evening = datetime(2026, 11, 27, 19, 30, tzinfo=UTC)  # 20:30 in Berlin: asleep
    at, action = next_change(schedule, friday_evening)
    assert (action, at.isoformat()) == ("wake", "2026-11-30T07:00:00+01:00")
    assert describe_next(schedule, friday_evening) == (
        "asleep; wakes Mon 07:00 Europe/Berlin (in 58h 30m; schedule weekdays 07:00-20:00)")
    tuesday_noon = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    assert describe_next(schedule, tuesday_noon).startswith("awake; sleeps Tue 20:00 Europe/Berlin (in 8h 00m")
    assert next_sleep(schedule, friday_evening).isoformat() == "2026-11-30T20:00:00+01:00"
    summer = datetime(2026, 7, 1, 4, 59, tzinfo=UTC)  # 06:59 CEST: daylight saving time moves the wake
    assert next_change(schedule, summer)[0].astimezone(UTC).isoformat() == "2026-07-01T05:00:00+00:00"


def test_nat_instance_resources(tmp_path: Path) -> None:
    infra = json.loads((REPO / "templates" / "dev" / "infrastructure.json").read_text())
    r = infra["Resources"]
    assert "NatGateway" not in r and "NatEip" not in r
    assert infra["Parameters"]["NatAmiId"] == {
        "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
        "Default": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
        "Description": infra["Parameters"]["NatAmiId"]["Description"]}
    assert resource(infra, "PrivateDefaultRoute")["NetworkInterfaceId"] == {"Ref": "NatNetworkInterface"}
    eni = resource(infra, "NatNetworkInterface")
    assert eni["SourceDestCheck"] is False and eni["SubnetId"] == {"Ref": "PublicSubnet1"}
    data = resource(infra, "NatLaunchTemplate")["LaunchTemplateData"]
    assert data["InstanceType"] == "t4g.nano" and data["MetadataOptions"]["HttpTokens"] == "required"
    script = data["UserData"]["Fn::Base64"]["Fn::Sub"]
    for needed in ("net.ipv4.ip_forward = 1", "masquerade", "attach-network-interface", "--no-source-dest-check",
                   "${NatNetworkInterface}"):
        assert needed in script
    group = resource(infra, "NatAutoScalingGroup")
    assert (group["MinSize"], group["MaxSize"], group["VPCZoneIdentifier"]) == ("1", "1", [{"Ref": "PublicSubnet1"}])
    prod = json.loads((REPO / "templates" / "prod" / "infrastructure.json").read_text())
    assert "NatGateway" in prod["Resources"] and "NatAutoScalingGroup" not in prod["Resources"]
