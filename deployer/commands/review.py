"""The property rows of one change set, and which SSM parameters it re-read with what values.

CloudFormation gives property values itself (DescribeChangeSet with IncludePropertyValues); an
endpoint that gives none (an emulator) gets the same rows from the deployed template (GetTemplate)
against the new one, with the parameters' previous resolved values (the stack's ResolvedValue) and
their values in SSM now put in. Only change sets with a Modify change cost these extra calls: a
rerun with nothing to change makes none.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from deployer.aws import runner, storage
from deployer.planning.diff import ParameterChange, PropertyChange, from_templates, parameter_changes, plain_value
from deployer.planning.planner import ChangeRow, StackPlan

# Create-only properties per resource type (changing one replaces the resource), from the
# CloudFormation resource provider schemas; tests/test_diff.py keeps it in step with them.
CREATE_ONLY_FILE = Path(__file__).resolve().parents[1] / "planning" / "create_only.json"


@cache
def create_only() -> dict[str, frozenset[str]]:
    table = json.loads(CREATE_ONLY_FILE.read_text(encoding="utf-8"))
    return {t: frozenset(props) for t, props in table.items()}


def review(
    clients: runner.Clients, sp: StackPlan, rows: list[ChangeRow], existing: dict[str, Any] | None
) -> tuple[list[ChangeRow], list[ParameterChange]]:
    """Rows with their property changes filled in, and the SSM parameters whose value changes."""
    if existing is None or not any(r.action == "Modify" for r in rows) or not runner.property_values_wanted():
        return rows, []  # a new stack: every resource is added, nothing has a "before"
    old = {k: plain_value(v) for k, v in runner.parameter_values(existing).items() if k in sp.reads}
    found = storage.get_parameters(clients.ssm, sp.reads.values())
    new = {name: found[path] for name, path in sp.reads.items() if path in found}
    params = parameter_changes(sp.reads, old, new)
    if all(r.has_values for r in rows if r.action == "Modify"):
        return rows, params
    deployed = runner.deployed_template(clients.cf, sp.stack_name)
    template = json.loads(sp.body)
    table = create_only()
    filled = [_filled(r, from_templates(r.logical_id, deployed, template, old, new, table.get(r.resource_type)))
              if r.action == "Modify" and not r.has_values else r for r in rows]
    return filled, params


def _filled(row: ChangeRow, properties: list[PropertyChange]) -> ChangeRow:
    # An endpoint that gives no values gives no Replacement either: say it when a property forces one.
    unknown = row.replacement in ("-", "")
    replacement = "True" if unknown and any(p.replaces for p in properties) else row.replacement
    return replace(row, properties=tuple(properties), replacement=replacement)
