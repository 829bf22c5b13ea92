"""Inputs AWS, the containers or the tool cannot use are refused when platform.toml is loaded (issue 9).

Most cases go through load_config directly; the ones about files, paths and commands other than
--synth drive deploy.py as a subprocess and check the one line, exit 2 and that nothing was written.
test_config_errors.py runs a representative subset of the load_config cases through deploy.py too.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from generators.config import ConfigError, load_config
from generators.naming import RESERVED_ENV_VARS, RESERVED_NAMES
from generators.regions import known_regions, region_problem

ROOT = Path(__file__).resolve().parent.parent
BASE = (ROOT / "platform.toml").read_text()


def edit(old: str, new: str, text: str = BASE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def with_service(**overrides: str) -> str:
    fields = {"name": '"worker-api"', "port": "8000", "path_patterns": '["/worker/*"]', "priority": "20",
              "health_check_path": '"/worker/health"', "cpu": "256", "memory": "512", "desired_count": "1",
              "min_count": "1", "max_count": "2"}
    fields.update(overrides)
    return BASE + "\n[[services]]\n" + "".join(f"{k} = {v}\n" for k, v in fields.items())


def without_prod_sizing(text: str) -> str:
    """The example's [environments.prod.services.*] tables name app-api; renaming it needs them gone (and
    with them prod's capacity = "fargate", so the services' Spot goes too: prod refuses Spot)."""
    text = re.sub(r"\n\[environments\.prod\.services\.[^]]+\]\n(?:[^[\n][^\n]*\n)*", "\n", text)
    return text.replace('\ncapacity = "spot"\n', "\n")


def load(tmp_path: Path, text: str, env: str = "dev", prefix: str | None = None):
    path = tmp_path / "platform.toml"
    path.write_text(text)
    return load_config(path, env, prefix)


def refused(tmp_path: Path, text: str, pattern: str, env: str = "dev", prefix: str | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, env, prefix)
    message = str(info.value)
    assert "\n" not in message, message
    assert re.search(pattern, message), message
    return message


# --- names ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", RESERVED_NAMES)
def test_service_may_not_take_a_stack_name_or_all(name: str, tmp_path: Path) -> None:
    refused(tmp_path, with_service(name=f'"{name}"'),
            rf"platform\.toml: services\[2\]\.name: '{name}' is the name of one of the platform's own stacks")


@pytest.mark.parametrize("name", ["app-", "a--b", "-app", "9app", "App", "app_api", "app.api", "a", "app/api",
                                  "app api"])
def test_service_name_shapes_aws_refuses(name: str, tmp_path: Path) -> None:
    refused(tmp_path, with_service(name=f'"{name}"'),
            rf"services\[2\]\.name: '{re.escape(name)}' is not a valid service name \(expected lower-case letters")


def test_service_name_too_long_once_combined_with_the_prefix(tmp_path: Path) -> None:
    name = "wx" + "-x1" * 38  # 116 characters: fine alone, 128 as `layered-dev-...`, 129 as `layered-prod-...`
    assert len(f"layered-dev-{name}") == 128
    msg = refused(tmp_path, with_service(name=f'"{name}"'), r"services\[2\]\.name: .* with prefix 'layered-prod' "
                  r"\(environments\.prod\.prefix\) makes the CloudFormation stack name 129 characters long "
                  r"\(expected at most 128")
    assert len(msg) < 400
    # The same name passes with a prefix short enough, so the limit is the combination, not the name.
    shorter = edit('prefix = "layered-prod"', 'prefix = "lp"', with_service(name=f'"{name}"'))
    assert load(tmp_path, shorter).services[-1].name == name
    refused(tmp_path, shorter, r"with prefix 'a-much-longer-prefix' \(--prefix\) makes the CloudFormation stack name",
            prefix="a-much-longer-prefix")


def test_names_that_differ_only_in_hyphens(tmp_path: Path) -> None:
    refused(tmp_path, with_service(name='"appapi"'),
            r"services\[2\]\.name: 'appapi' and 'app-api' differ only in hyphens")


@pytest.mark.parametrize("prefix", ["bad-", "a--b", "-ab", "Ab", "a_b", "a", "p" * 32])
def test_prefix_shapes_aws_refuses(prefix: str, tmp_path: Path) -> None:
    refused(tmp_path, edit('prefix = "layered-dev"', f'prefix = "{prefix}"'),
            rf"environments\.dev\.prefix: '{prefix}' is not a valid prefix \(expected")
    refused(tmp_path, BASE, rf"--prefix: '{prefix}' is not a valid prefix", prefix=prefix)


def test_two_environments_may_not_share_stack_names(tmp_path: Path) -> None:
    same = edit('prefix = "layered-prod"', 'prefix = "layered-dev"')
    refused(tmp_path, same, r"environments\.prod\.prefix: 'layered-dev' gives the stack name "
            r"'layered-dev-infrastructure' that environments\.dev\.prefix gives too")
    # `layered` + service `dev-app` is `layered-dev-app`, which is also `layered-dev` + `app`.
    overlap = without_prod_sizing(edit('prefix = "layered-prod"', 'prefix = "layered"'))
    overlap = edit('name = "app-api"', 'name = "app"', overlap) + '\n[[services]]\nname = "dev-app"\nport = 8000\n' \
        'path_patterns = ["/d/*"]\npriority = 30\nhealth_check_path = "/d/health"\ncpu = 256\nmemory = 512\n' \
        'desired_count = 1\nmin_count = 1\nmax_count = 1\n'
    refused(tmp_path, overlap, r"gives the stack name 'layered-dev-app' that environments\.\w+\.prefix gives too")
    # Different accounts may share a prefix: nothing is shared there.
    apart = edit('# account_id = "123456789012"', 'account_id = "111111111111"', same)
    assert load(tmp_path, apart).prefix == "layered-dev"


def test_prefix_override_may_not_take_another_environments_stacks(tmp_path: Path) -> None:
    refused(tmp_path, BASE, r"--prefix: 'layered-prod' gives the stack name 'layered-prod-infrastructure' that "
            r"environments\.prod\.prefix gives too", prefix="layered-prod")
    assert load(tmp_path, BASE, "prod", prefix="layered-prod").prefix_overridden is False


@pytest.mark.parametrize("env", ["../../../tmp/x", "a.b", "a/b", "a b", "Dev", "9x", "-x", "", "x" * 33])
def test_environment_names_are_plain_words(env: str, tmp_path: Path) -> None:
    text = BASE + f'\n[environments."{env}"]\nprefix = "other"\nregion = "us-east-1"\nvpc_cidr = "10.40.0.0/16"\n'
    refused(tmp_path, text, r"environments\..*: '.*' is not a valid environment name \(expected \[a-z\]")


@pytest.mark.parametrize("env", ["build", "templates"])
def test_environment_names_reserved_for_the_tools_folders(env: str, tmp_path: Path) -> None:
    text = BASE + f'\n[environments.{env}]\nprefix = "other"\nregion = "us-east-1"\nvpc_cidr = "10.40.0.0/16"\n'
    refused(tmp_path, text, rf"environments\.{env}: '{env}' is reserved for the tool's own folders")


# --- routing and ports ---------------------------------------------------------------------------

def test_path_patterns_beyond_one_listener_rule(tmp_path: Path) -> None:
    refused(tmp_path, with_service(path_patterns='["/a/*", "/b/*", "/c/*", "/d/*"]'),
            r"services\[2\]\.path_patterns: 4 patterns, but the service's listener rule takes at most 3")
    three = load(tmp_path, with_service(path_patterns='["/a/*", "/b/*", "/c/*"]'))
    assert three.services[-1].path_patterns == ("/a/*", "/b/*", "/c/*")


@pytest.mark.parametrize("pattern", ["/a b", "/a#b", "/a%20", "/a&b", "/ü", "/a\\\\b", "/a{b}", "a/*", "/" + "x" * 128])
def test_path_pattern_characters_alb_refuses(pattern: str, tmp_path: Path) -> None:
    refused(tmp_path, with_service(path_patterns=f'["{pattern}"]'),
            r"services\[2\]\.path_patterns: .* is not accepted by an ALB listener rule \(expected a path starting "
            r"with / of at most 128 characters")


def test_path_pattern_characters_alb_accepts(tmp_path: Path) -> None:
    pattern = "/v1/~user/$x@a:b+c'd-e_f.g/?/*"
    assert load(tmp_path, with_service(path_patterns=f'["{pattern}"]')).services[-1].path_patterns == (pattern,)


@pytest.mark.parametrize(("port", "why"), [
    (80, r"80 is below 1024: the containers run as a non-root user, which cannot bind it"),
    (443, r"443 is below 1024"),
    (1023, r"1023 is below 1024"),
    (2375, r"2375 is reserved for the Docker daemon"),
    (2376, r"2376 is reserved for the Docker daemon over TLS"),
    (32768, r"32768 is in the ephemeral range"),
    (51678, r"51678 is in the ephemeral range"),
])
def test_unusable_ports(port: int, why: str, tmp_path: Path) -> None:
    refused(tmp_path, with_service(port=str(port)), rf"services\[2\]\.port: {why}.* \(expected")


@pytest.mark.parametrize("port", [1024, 8000, 8080, 32767])
def test_usable_ports(port: int, tmp_path: Path) -> None:
    assert load(tmp_path, with_service(port=str(port))).services[-1].port == port


# --- container environment -----------------------------------------------------------------------

@pytest.mark.parametrize("name", [*RESERVED_ENV_VARS, "AWS_REGION", "AWS_ACCESS_KEY_ID", "ECS_CONTAINER_METADATA_URI"])
def test_variables_the_platform_or_aws_sets(name: str, tmp_path: Path) -> None:
    text = BASE + f'\n[services.environment]\n{name} = "x"\n'  # the last service: inference-api
    refused(tmp_path, text, rf"services\[1\]\.environment\.{name}: (set by the platform itself|AWS sets AWS_/ECS_)")


def test_reserved_variable_in_an_environments_override(tmp_path: Path) -> None:
    text = edit("[environments.prod.services.app-api]\n",
                '[environments.prod.services.app-api]\nenvironment = { SERVICE_NAME = "x" }\n')
    refused(tmp_path, text, r"environments\.prod\.services\.app-api\.environment\.SERVICE_NAME: set by the platform")


def test_variables_of_the_services_own_stay_allowed(tmp_path: Path) -> None:
    text = BASE + '\n[services.environment]\nLOG_LEVEL = "DEBUG"\nMY_AWS = "1"\n'
    env = dict(load(tmp_path, text).services[1].environment)
    assert env == {"LOG_LEVEL": "DEBUG", "MY_AWS": "1"}


# --- network and region --------------------------------------------------------------------------

@pytest.mark.parametrize("cidr", ["127.0.0.0/16", "224.0.0.0/16", "169.254.0.0/16", "8.8.0.0/16", "100.64.0.0/16",
                                  "172.32.0.0/16", "11.0.0.0/16", "0.0.0.0/16", "240.0.0.0/16"])
def test_vpc_cidr_outside_private_ranges(cidr: str, tmp_path: Path) -> None:
    refused(tmp_path, edit('vpc_cidr = "10.20.0.0/16"', f'vpc_cidr = "{cidr}"'),
            rf"environments\.dev\.vpc_cidr: '{re.escape(cidr)}' is not inside a private range \(expected a block "
            r"inside 10\.0\.0\.0/8, 172\.16\.0\.0/12, 192\.168\.0\.0/16 \(RFC 1918\)")


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "172.16.0.0/16", "172.31.0.0/16", "192.168.0.0/16"])
def test_vpc_cidr_inside_private_ranges(cidr: str, tmp_path: Path) -> None:
    assert load(tmp_path, edit('vpc_cidr = "10.20.0.0/16"', f'vpc_cidr = "{cidr}"')).env.vpc_cidr == cidr


@pytest.mark.parametrize(("region", "hint"), [("us-east-9", "us-east-"), ("eu-wset-1", "eu-west-1"),
                                              ("mars", "us-east-1"), ("US-EAST-1", "us-east-1"), ("us-east-1 ", "")])
def test_region_not_in_botocores_endpoint_data(region: str, hint: str, tmp_path: Path) -> None:
    msg = refused(tmp_path, edit('region = "us-east-1"', f'region = "{region}"'),
                  rf"environments\.dev\.region: '{re.escape(region)}' is not an AWS region in botocore's endpoint data "
                  r"\(expected a known region such as ")
    assert hint in msg.split("such as", 1)[1]


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-2", "us-east-2"])
def test_regions_botocore_knows(region: str, tmp_path: Path) -> None:
    assert load(tmp_path, edit('region = "us-east-1"', f'region = "{region}"')).env.region == region


@pytest.mark.parametrize("region", ["cn-north-1", "us-gov-west-1", "il-central-1"])
def test_regions_of_every_partition_are_known(region: str) -> None:
    # Through region_problem only: the edge's own region table (edge_config.py) is narrower.
    assert region_problem(region) is None


def test_region_data_agrees_with_botocore_itself() -> None:
    import botocore.session  # only here: regions.py itself must never import it

    session = botocore.session.get_session()
    for partition in session.get_available_partitions():
        assert set(session.get_available_regions("cloudformation", partition)) <= known_regions(), partition
    assert not any(r.endswith("-global") for r in known_regions())


# --- the file itself, and every command, through deploy.py ---------------------------------------

def refused_by_deploy(root: Path, *args: str) -> str:
    """deploy.py of the project copy `root` (state_support.source_copy), which must stay unchanged."""
    from state_support import refused_still

    proc = refused_still(root, *args, timeout=120, env={**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr and "bug" not in proc.stderr and proc.stdout == ""
    return lines[0]


def unreadable_configs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each kind of --config that cannot be read, with what both deploy.py and load_config must say."""
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(BASE.replace('"layered-platform"', '"plateforme-d\xe9mo"').encode("latin-1"))
    # A symlink loop cannot be read even by root (a chmod 000 file can), so the test holds everywhere.
    (tmp_path / "a.toml").symlink_to(tmp_path / "b.toml")
    (tmp_path / "b.toml").symlink_to(tmp_path / "a.toml")
    return {"directory": (tmp_path, "is a directory"), "not utf-8": (latin1, "not UTF-8 text"),
            "unreadable": (tmp_path / "a.toml", "cannot read")}


@pytest.mark.parametrize("kind", ["directory", "not utf-8", "unreadable"])
def test_config_file_that_cannot_be_used_through_deploy(kind: str, tmp_path: Path, project_copy: Path) -> None:
    path, words = unreadable_configs(tmp_path)[kind]
    line = refused_by_deploy(project_copy, "--config", str(path), "--synth")
    assert str(path) in line and words in line, line


@pytest.mark.parametrize(("kind", "expected"), [
    ("directory", r"\S+: is a directory \(expected --config to name a TOML file\)"),
    ("not utf-8", r"latin1\.toml: not UTF-8 text \(byte 0xe9 at offset \d+; expected a UTF-8 encoded TOML file\)"),
    ("unreadable", r"\S+a\.toml: cannot read: Too many levels of symbolic links \(expected a readable TOML file\)"),
])
def test_config_file_that_cannot_be_used_through_load_config(kind: str, expected: str, tmp_path: Path) -> None:
    """load_config says the same on its own (the CI scripts call it without deploy.py's argument check)."""
    path, _ = unreadable_configs(tmp_path)[kind]
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert re.fullmatch(expected, str(info.value)), str(info.value)


def test_environment_named_as_a_path_writes_nothing_outside(tmp_path: Path, project_copy: Path) -> None:
    """templates/<env> with env = ../../..<tmp_path>/escaped would land in tmp_path if it were ever used."""
    ups = "../" * len((project_copy / "templates").parts)
    env = f"{ups}{str(tmp_path).lstrip('/')}/escaped"
    text = BASE + f'\n[environments."{env}"]\nprefix = "other"\nregion = "us-east-1"\nvpc_cidr = "10.40.0.0/16"\n'
    config = tmp_path / "platform.toml"
    config.write_text(text)
    line = refused_by_deploy(project_copy, "--config", str(config), "--env", env, "--synth")
    assert "is not a valid environment name" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["platform.toml"]


@pytest.mark.parametrize("command", [["--status"], ["--plan", "--stack", "all"], ["--stack", "all", "--yes"],
                                     ["--cost"], ["--graph"], ["--destroy", "--stack", "app-api"],
                                     ["--set-image-tag", "app-api=v1"]])
def test_every_command_refuses_a_bad_config_before_anything_else(command: list[str], tmp_path: Path,
                                                                 project_copy: Path) -> None:
    config = tmp_path / "platform.toml"
    config.write_text(edit("port = 8000", "port = 80"))
    line = refused_by_deploy(project_copy, "--config", str(config), *command)
    assert line.startswith("error: platform.toml: services[0].port: 80 is below 1024")
