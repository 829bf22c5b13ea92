"""Small builders every stack uses: SSM inputs and outputs, checkov skips, Name tags."""

from __future__ import annotations

import re

from troposphere import AWSObject, Parameter, Ref, Tags, Template
from troposphere.ssm import Parameter as SsmParameter

from .naming import LIST_KEYS

SSM_STRING = "AWS::SSM::Parameter::Value<String>"
SSM_SUBNETS = "AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>"
SSM_VPC = "AWS::SSM::Parameter::Value<AWS::EC2::VPC::Id>"
SSM_SECURITY_GROUP = "AWS::SSM::Parameter::Value<AWS::EC2::SecurityGroup::Id>"


def logical_id(*words: str) -> str:
    """`alb-listener-arn`, `Parameter` -> `AlbListenerArnParameter`: stable, PascalCase, alphanumeric."""
    parts = [p for w in words for p in re.split(r"[^A-Za-z0-9]+", w) if p]
    return "".join(p[:1].upper() + p[1:] for p in parts)


def ssm_input(t: Template, name: str, path: str, ssm_type: str = SSM_STRING) -> Ref:
    """A template parameter resolved from SSM at every change set, so new values roll out on deploy."""
    t.add_parameter(Parameter(name, Type=ssm_type, Default=path, Description=f"Read from SSM {path}"))
    return Ref(name)


def ssm_output(t: Template, path: str, value: object, description: str) -> SsmParameter:
    """Publish one value for other stacks. Lists use StringList so readers can type them as List<...>."""
    _, _prefix, *rest = path.split("/")  # "/<prefix>/network/vpc-id" -> NetworkVpcIdParameter
    key = rest[-1]
    return t.add_resource(
        SsmParameter(
            logical_id(*rest, "Parameter"),
            Name=path,
            Type="StringList" if key in LIST_KEYS else "String",
            Value=value,
            Description=description,
            Tier="Standard",
        )
    )


def checkov_skip(resource: AWSObject, *skips: tuple[str, str]) -> AWSObject:
    """Record a justified checkov skip next to the resource it concerns (check id, reason)."""
    meta = dict(getattr(resource, "Metadata", {}) or {})
    existing = meta.get("checkov", {}).get("skip", [])
    meta["checkov"] = {"skip": existing + [{"id": cid, "comment": why} for cid, why in skips]}
    resource.Metadata = meta
    return resource


def name_tags(prefix: str, name: str) -> Tags:
    return Tags(Name=f"{prefix}-{name}")
