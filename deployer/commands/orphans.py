"""Stacks with the environment's prefix that the configuration no longer names (a service renamed
or removed): they still read SSM parameters, so no deploy may delete one they read.

Renaming a service makes the registry's next template drop the old name's repository-uri
parameter; the deployed stack of the old name still reads it, and could never be updated again.
Costs one DescribeStacks per run; templates are read only when such a stack exists.
"""

from __future__ import annotations

from typing import Any

from deployer.aws import runner
from deployer.planning.planner import Plan
from generators.naming import stack_name

SSM_TYPE = "AWS::SSM::Parameter::Value"


def reads_of(template: dict[str, Any]) -> set[str]:
    return {str(p["Default"]) for p in template.get("Parameters", {}).values()
            if str(p.get("Type", "")).startswith(SSM_TYPE) and p.get("Default")}


def writes_of(template: dict[str, Any]) -> set[str]:
    return {str(r["Properties"]["Name"]) for r in template.get("Resources", {}).values()
            if r.get("Type") == "AWS::SSM::Parameter" and isinstance(r.get("Properties", {}).get("Name"), str)}


def removal_problems(clients: runner.Clients, prefix: str, plan: Plan, states: dict[str, Any],
                     region: str) -> list[str]:
    known = {stack_name(prefix, st) for st in plan.contract.reads}
    orphans = [s["StackName"] for s in runner.stacks_named(clients.cf, f"{prefix}-") if s["StackName"] not in known]
    if not orphans:
        return []
    read_by = {name: reads_of(runner.deployed_template(clients.cf, name)) for name in orphans}
    problems = []
    for stack, sp in plan.stacks.items():
        if states.get(stack) is None:
            continue
        now = {p for p, writer in plan.contract.writer.items() if writer == stack}
        removed = writes_of(runner.deployed_template(clients.cf, sp.stack_name)) - now
        for path in sorted(removed):
            for reader in sorted(r for r, reads in read_by.items() if path in reads):
                problems.append(f"{stack} would delete {path}, which deployed stack {reader} still reads (a service "
                                f"renamed or removed?) — delete that stack first (aws cloudformation delete-stack "
                                f"--stack-name {reader} --region {region}), or keep its name in the configuration")
    return problems
