"""platform.toml variants for the edge tests: the example file with dev's edge keys replaced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deploy_support import self_signed

REPO = Path(__file__).resolve().parent.parent
BASE = (REPO / "platform.toml").read_text()
DEV_EDGE = 'edge = "vpc-origin"\n'  # dev's line comes first in the example file
CF_CERT = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
ALB_CERT = "arn:aws:acm:us-east-1:123456789012:certificate/66666666-7777-8888-9999-000000000000"
DOMAIN = {"domain": "shop.example.org", "cloudfront_certificate_arn": CF_CERT, "alb_certificate_arn": ALB_CERT}


def dev_config(**keys: object) -> str:
    """The example configuration with dev's `edge = ...` line replaced by these keys (strings quoted)."""
    assert BASE.index(DEV_EDGE) < BASE.index("[environments.prod]")
    lines = "".join(f"{k} = {_toml(v)}\n" for k, v in keys.items())
    return BASE.replace(DEV_EDGE, lines, 1)


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) else str(value).lower()


def certificate(aws: Any, name: str) -> str:
    """An ACM certificate for `name`, imported: moto checks that a listener's certificate exists and
    nothing reads more of it. Requested instead, moto makes a 2048-bit RSA key for each (about 7 % of a
    worker's CPU over the edge tests, measured with py-spy)."""
    cert, key = self_signed(name)
    return str(aws.client("acm").import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"])
