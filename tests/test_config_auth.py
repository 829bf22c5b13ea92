"""Sign-in, spend guard and limits in platform.toml: every mistake is one line naming the key, exit 2,
nothing written; and the accepted settings reach the configuration the generators read."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from config_support import config_error
from test_config_errors import BASE, edit
from zygote_support import run_deploy

from generators.config import load_config

ROOT = Path(__file__).resolve().parent.parent
DEV_AUTH = '[environments.dev.auth]\nprovider = "cognito"\n'
PROD_AUTH = '[environments.prod.auth]\nprovider = "cognito"\n'


def dev_auth(body: str) -> str:
    return edit(DEV_AUTH, f"[environments.dev.auth]\n{body}\n")


def prod_auth(body: str) -> str:
    return edit(PROD_AUTH, f"[environments.prod.auth]\n{body}\n")


def dev_spend(line: str, replace: str = "daily_input_tokens = 2000000") -> str:
    return edit(replace, line)


OIDC = 'provider = "oidc"\nissuer = "https://id.example.com/"\naudience = "api"\nclient_id = "abc"'

CASES = {
    "issuer not https": (
        dev_auth(OIDC.replace("https://id.example.com/", "http://id.example.com/")),
        r"environments\.dev\.auth\.issuer: 'http://id\.example\.com/' is not accepted \(expected an https:// URL"),
    "issuer not a url": (dev_auth(OIDC.replace("https://id.example.com/", "id.example.com")),
                         r"environments\.dev\.auth\.issuer: 'id\.example\.com' is not accepted"),
    "off in production": (prod_auth('provider = "off"'),
                          r"environments\.prod\.auth\.provider: \"off\" in a production environment .*"
                          r"allow_off_in_production = true"),
    "unknown provider": (dev_auth('provider = "saml"'),
                         r"environments\.dev\.auth\.provider: 'saml' is not accepted \(expected 'cognito' or 'oidc' "
                         r"or 'off'\)"),
    "oidc without issuer": (dev_auth('provider = "oidc"\naudience = "api"\nclient_id = "abc"'),
                            r"environments\.dev\.auth\.issuer: missing for provider \"oidc\""),
    "oidc without audience": (dev_auth('provider = "oidc"\nissuer = "https://id.example.com/"\nclient_id = "a"'),
                              r"environments\.dev\.auth\.audience: missing for provider \"oidc\""),
    "oidc without client id": (dev_auth('provider = "oidc"\nissuer = "https://id.example.com/"\naudience = "a"'),
                               r"environments\.dev\.auth\.client_id: missing for provider \"oidc\""),
    "issuer with cognito": (dev_auth('provider = "cognito"\nissuer = "https://id.example.com/"'),
                            r"environments\.dev\.auth\.issuer: only used with provider \"oidc\""),
    "bad domain prefix": (dev_auth('domain_prefix = "my-aws-login"'),
                          r"environments\.dev\.auth\.domain_prefix: 'my-aws-login' is not accepted .*'aws'"),
    "unknown auth key": (dev_auth('provider = "cognito"\nprovder = "oidc"'),
                         r"environments\.dev\.auth\.provder: unknown key \(expected one of: provider, issuer"),
    "limit zero": (edit("max_messages = 40", "max_messages = 0"),
                   r"services\[1\]\.limits\.max_messages: 0 is not accepted \(expected a whole number above 0\)"),
    "limit negative": (edit("max_body_bytes = 65536", "max_body_bytes = -1"),
                       r"services\[0\]\.limits\.max_body_bytes: -1 is not accepted"),
    "limit override zero": (edit("max_streams_per_user = 2", "max_streams_per_user = 0"),
                            r"services\[1\] with environments\.prod\.services\.inference-api\.limits\."
                            r"max_streams_per_user: 0 is not accepted"),
    "unknown limit": (edit("max_messages = 40", "max_mesages = 40"),
                      r"services\[1\]\.limits\.max_mesages: unknown key \(expected one of: max_body_bytes"),
    "reserved variable": (edit("max_body_bytes = 65536\n", "max_body_bytes = 65536\n\n[services.environment]\n"
                                                        "BEDROCK_MAX_TOKENS = \"1024\"\n"),
                          r"services\[0\]\.environment\.BEDROCK_MAX_TOKENS: reserved for the platform "
                          r"\(expected it set through limits\.max_output_tokens\)"),
    "reserved auth variable": (
        edit("max_body_bytes = 65536\n", "max_body_bytes = 65536\n\n[services.environment]\nAUTH_DISABLED = \"1\"\n"),
        r"services\[0\]\.environment\.AUTH_DISABLED: (reserved for the platform|set by the platform itself)"),
    "threshold zero": (dev_spend("daily_input_tokens = 0"),
                       r"environments\.dev\.spend_guard\.daily_input_tokens: 0 is not accepted"),
    "threshold negative": (dev_spend("daily_output_tokens = -5", "daily_output_tokens = 500000"),
                           r"environments\.dev\.spend_guard\.daily_output_tokens: -5 is not accepted"),
    "budget zero": (edit("monthly_budget_usd = 300", "monthly_budget_usd = 0"),
                    r"environments\.prod\.spend_guard\.monthly_budget_usd: 0 is not accepted"),
    "bad email": (edit('alarm_emails = ["platform-team@example.com"]', 'alarm_emails = ["platform-team.example.com"]'),
                  r"environments\.dev\.spend_guard\.alarm_emails: .* \(expected e-mail addresses; "
                  r"'platform-team\.example\.com' is not one\)"),
    "repeated email": (edit('alarm_emails = ["platform-team@example.com"]',
                            'alarm_emails = ["ops@example.com", "OPS@example.com"]'),
                       r"environments\.dev\.spend_guard\.alarm_emails: .*'ops@example\.com' is repeated"),
    "budget without emails": (
        edit('alarm_emails = ["platform-team@example.com"]\nmonthly_budget_usd', 'monthly_budget_usd'),
        r"environments\.prod\.spend_guard\.alarm_emails: missing, but monthly_budget_usd is set"),
    "production not a bool": (edit("production = true", 'production = "yes"'),
                              r"environments\.prod\.production: wrong type str \(expected true or false\)"),
}



@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_setting_is_one_line_exit_2_and_writes_nothing(case: str, tmp_path: Path) -> None:
    text, expected = CASES[case]
    assert text != BASE
    line = config_error(tmp_path, text)  # tests/config_support.py: the line deploy.py prints
    assert re.search(expected, line), line


def test_deploy_py_prints_that_line_exits_2_and_writes_nothing(refused_synth: Callable[..., str],
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    text, _ = CASES["off in production"]
    assert refused_synth(text) == config_error(tmp_path_factory.mktemp("in-process"), text)


def test_off_is_accepted_with_the_override_and_synth_warns(tmp_path: Path) -> None:
    config = tmp_path / "platform.toml"
    config.write_text(prod_auth('provider = "off"\nallow_off_in_production = true'))
    proc = run_deploy(["--config", str(config), "--synth", "--env", "prod", "--prefix", "auth-off-test"],
                      dict(os.environ), timeout=60)
    out = ROOT / "build" / "templates" / "prod" / "auth-off-test"
    try:
        assert proc.returncode == 0, proc.stderr
        (warning,) = proc.stderr.strip().splitlines()
        assert warning.startswith('warning: environments.prod.auth.provider = "off": /inference/* ')
        assert not (out / "auth.json").exists() and (out / "alerts.json").exists()
    finally:
        import shutil

        shutil.rmtree(out, ignore_errors=True)
    quiet = run_deploy(["--synth", "--check"], dict(os.environ), timeout=60)
    assert quiet.returncode == 0 and quiet.stderr == ""  # the example signs in: no warning


def test_settings_reach_the_configuration(tmp_path: Path) -> None:
    config = tmp_path / "platform.toml"
    config.write_text(dev_auth(OIDC + '\ntoken_url = "https://login.example.com/oauth/token"'))
    dev = load_config(config, "dev")
    assert (dev.env.production, dev.env.auth.provider, dev.env.auth.issuer) == (False, "oidc",
                                                                               "https://id.example.com/")
    assert dev.env.spend_guard.alarm_emails == ("platform-team@example.com",)
    prod = load_config(env="prod")
    assert prod.env.production and prod.env.auth.domain_prefix == "layered-prod-signin"
    assert prod.env.auth.deletion_protection, "the pool follows the environment's deletion_protection"
    assert prod.env.spend_guard.monthly_budget_usd == 300
    limits = {s.name: dict(s.limits) for s in prod.services}
    assert limits["inference-api"] == {"BEDROCK_MAX_INPUT_CHARS": 32000, "BEDROCK_MAX_MESSAGES": 40,
                                       "BEDROCK_MAX_TOKENS": 1024, "MAX_BODY_BYTES": 262144,
                                       "MAX_STREAMS_PER_USER": 2}  # prod's override of one key, the rest kept
    assert dict(load_config(env="dev").services[1].limits)["MAX_STREAMS_PER_USER"] == 4
    assert limits["app-api"] == {"MAX_BODY_BYTES": 65536}
