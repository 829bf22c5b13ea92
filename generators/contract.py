"""The SSM contract between stacks, read back from the templates themselves.

A stack *writes* a path when its template has an AWS::SSM::Parameter with that Name, and
*reads* it when a template parameter of type AWS::SSM::Parameter::Value<...> defaults to it.
Dependencies, deploy order and the --graph diagram all come from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .naming import is_deployer_param

Template = Mapping[str, Any]
SSM_TYPE_PREFIX = "AWS::SSM::Parameter::Value<"
# AWS's own public parameters (the latest Amazon Linux AMI): read by a stack, written by AWS.
AWS_PUBLIC_PREFIX = "/aws/service/"


@dataclass(frozen=True)
class Contract:
    reads: dict[str, dict[str, str]]  # stack -> {parameter logical id: SSM path}
    writes: dict[str, set[str]]  # stack -> SSM paths its template creates
    writer: dict[str, str]  # SSM path -> the one stack that writes it

    def dependencies(self, stack: str) -> set[str]:
        """Stacks whose parameters this stack reads (image tags come from the pipeline, not a stack)."""
        return {self.writer[p] for p in self.reads[stack].values() if p in self.writer} - {stack}

    def external_reads(self, stack: str) -> dict[str, str]:
        """Paths no stack writes: the image tags the publish step puts in SSM."""
        return {k: p for k, p in self.reads[stack].items()
                if p not in self.writer and not p.startswith(AWS_PUBLIC_PREFIX)}

    def readers(self, stack: str) -> set[str]:
        return {s for s in self.reads if stack in self.dependencies(s)}


class ContractError(ValueError):
    pass


def ssm_reads(template: Template) -> dict[str, str]:
    return {
        logical_id: p["Default"]
        for logical_id, p in template.get("Parameters", {}).items()
        if p.get("Type", "").startswith(SSM_TYPE_PREFIX)
    }


def ssm_writes(template: Template) -> set[str]:
    return {
        r["Properties"]["Name"]
        for r in template.get("Resources", {}).values()
        if r.get("Type") == "AWS::SSM::Parameter"
    }


def build_contract(templates: Mapping[str, Template]) -> Contract:
    """Check that every path has one writer and every read is either written or an image tag."""
    writes = {stack: ssm_writes(t) for stack, t in templates.items()}
    reads = {stack: ssm_reads(t) for stack, t in templates.items()}
    writer: dict[str, str] = {}
    for stack, paths in writes.items():
        for path in sorted(paths):
            if path in writer:
                raise ContractError(f"{path} is written by both {writer[path]} and {stack}")
            writer[path] = stack
    for stack, params in reads.items():
        for logical_id, path in params.items():
            if path not in writer and not is_deployer_param(path) and not path.startswith(AWS_PUBLIC_PREFIX):
                raise ContractError(f"{stack}.{logical_id} reads {path}, which no stack writes")
    return Contract(reads=reads, writes=writes, writer=writer)


def launch_order(contract: Contract, stacks: list[str] | None = None) -> list[list[str]]:
    """Batches of stacks whose dependencies are all in earlier batches (Kahn's algorithm)."""
    pending = set(stacks if stacks is not None else contract.reads)
    done: set[str] = set()
    batches: list[list[str]] = []
    while pending:
        ready = sorted(s for s in pending if not contract.dependencies(s) & pending)
        if not ready:
            raise ContractError(f"dependency cycle among: {', '.join(sorted(pending))}")
        batches.append(ready)
        done |= set(ready)
        pending -= set(ready)
    return batches
