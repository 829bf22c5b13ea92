"""Secrets Manager: the origin secret's versions (issue 8) and the existence check for `secrets` (issue 11)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from deployer.aws.runner import error_code


def secret_exists(secretsmanager: Any, arn: str) -> bool:
    try:
        secretsmanager.describe_secret(SecretId=arn)
        return True
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return False
        raise


def create_secret(sm: Any, name: str, value: str, description: str, tags: dict[str, str]) -> str:
    """The new secret's first version id. The value is never logged or printed."""
    answer = sm.create_secret(Name=name, SecretString=value, Description=description,
                              Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return str(answer["VersionId"])


def put_secret_value(sm: Any, name: str, value: str) -> str:
    """A new version (it becomes AWSCURRENT); its version id."""
    return str(sm.put_secret_value(SecretId=name, SecretString=value)["VersionId"])


def secret_json(sm: Any, name: str, version_id: str) -> dict[str, Any] | None:
    """One version's JSON value, or None when that version does not exist."""
    try:
        text = sm.get_secret_value(SecretId=name, VersionId=version_id)["SecretString"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    value = json.loads(text)
    return value if isinstance(value, dict) else None
