"""Helpers shared by the deploy tests (a module of its own: `conftest` is ambiguous once
tests/services has one too)."""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
UNSUPPORTED = "not supported by moto's CloudFormation implementation"


def clean_env(url: str | None) -> dict[str, str]:
    # GITHUB_RUN_ID names change sets (deploy.py's pairing of --plan and --execute): tests set it themselves.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("GITHUB_RUN_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull, PYTHONWARNINGS="ignore")
    if url:
        env["AWS_ENDPOINT_URL"] = url
    return env


@dataclass
class Aws:
    """The emulator as a test sees it: boto3 clients for checks, and deploy.py to run."""

    url: str
    env: dict[str, str]
    warnings: list[warnings.WarningMessage] = field(default_factory=list)

    def client(self, service: str) -> Any:
        """A client of the emulator for checks, made once per worker and service (each costs some 15 ms;
        a test that changes a client's handlers makes its own with new_client)."""
        return _client(service, self.url)

    def new_client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def deploy(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        from zygote_support import run_deploy  # a real deploy.py process, forked pre-imported

        return run_deploy(list(args), env or self.env, timeout=120)

    def stacks(self) -> dict[str, dict[str, Any]]:
        return {s["StackName"]: s for s in self.client("cloudformation").describe_stacks()["Stacks"]}

    def unsupported(self) -> set[str]:
        return {str(w.message).split()[3] for w in self.warnings if UNSUPPORTED in str(w.message)}


@cache
def _client(service: str, url: str) -> Any:
    return Aws(url, {}).new_client(service)


def set_status(name: str, status: str) -> None:
    """Put a stack of the in-process emulator in any status (as if a deployment were running, or stuck)."""
    from moto.cloudformation.models import cloudformation_backends

    for stack in cloudformation_backends["123456789012"]["us-east-1"].stacks.values():
        if stack.name == name:
            stack.status = status


@cache
def self_signed(name: str) -> tuple[bytes, bytes]:
    """A PEM certificate and key for `name` (a host name or an IP address), valid for a day: an ACM
    import (edge_support.certificate) or a TLS endpoint's own (test_deploy_artifacts_tls)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        alt = x509.DNSName(name)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([alt]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)  # its own CA bundle
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))
