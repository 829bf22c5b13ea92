"""Property-level review: what changes inside each modified resource, from what to what.

Pure: no AWS calls, no printing. Two sources give the same rows:
- CloudFormation's answer to DescribeChangeSet(IncludePropertyValues=True): each Modify change's
  `Details[].Target` carries `Path` (`/Properties/ContainerDefinitions/0/Cpu`), `BeforeValue` /
  `AfterValue` (JSON text for objects and lists), `RequiresRecreation`, and the detail's
  `ChangeSource` / `CausingEntity` say when a parameter (an SSM value re-read) caused it.
- Where the endpoint returns no values (an emulator): the deployed template against the new one,
  each with its parameters' values put in (the previous resolved values, the SSM values now), so
  a change that only comes from a parameter shows too.
Values are shown as the template or CloudFormation has them and never looked up: a dynamic
reference (`{{resolve:secretsmanager:...}}`) stays the reference string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MISSING = object()  # a side where the property is absent
WIDTH = 100  # longest value shown; a longer one is cut with an ellipsis (its nested diff shows the rest)
REPLACES = ("Always", "Conditionally")
# Lists whose items carry one of these keys are matched by it, not by position, so one inserted
# environment variable or tag is one row, not a shifted list.
ITEM_KEYS = ("Name", "Key", "Sid")
# A value under a name like these is hidden, whatever its source; a dynamic reference is kept.
SECRET_NAME = re.compile(r"(?i)(password|secret|private_?key|api_?key|credential)")
HIDDEN = "(hidden)"
DYNAMIC_REFERENCE = "{{resolve:"


@dataclass(frozen=True)
class PropertyChange:
    path: str  # ContainerDefinitions[0].Cpu, Tags[Key=stack].Value, ...
    before: str  # shown form; "(none)" when the property is added
    after: str  # "(none)" when it is removed
    replacement: str = ""  # CloudFormation's RequiresRecreation: Always | Conditionally | Never; "" unknown
    parameter: str = ""  # template parameter the change comes from (an SSM value re-read), else ""

    @property
    def replaces(self) -> bool:
        return self.replacement in REPLACES

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after, "replacement": self.replacement,
                "requires_replacement": self.replaces, "parameter": self.parameter or None}


@dataclass(frozen=True)
class ParameterChange:
    """A stack parameter whose value changes: for our stacks, an SSM parameter re-read."""

    name: str
    ssm_path: str
    before: str
    after: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ssm_path": self.ssm_path, "before": self.before, "after": self.after}


# --- nested diff ----------------------------------------------------------------------------------

def nested_diff(before: Any, after: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, before, after) for every leaf that differs; MISSING marks an absent side."""
    before, after = _parsed(before), _parsed(after)
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict) and not (_intrinsic(before) or _intrinsic(after)):
        for key in sorted(set(before) | set(after)):
            yield from nested_diff(before.get(key, MISSING), after.get(key, MISSING), _join(path, key))
    elif isinstance(before, list) and isinstance(after, list):
        yield from _list_diff(before, after, path)
    else:
        yield path, before, after


def _list_diff(before: list[Any], after: list[Any], path: str) -> Iterator[tuple[str, Any, Any]]:
    key = _item_key(before, after)
    if key:
        old = {item[key]: item for item in before}
        new = {item[key]: item for item in after}
        for name in sorted(set(old) | set(new), key=str):
            yield from nested_diff(old.get(name, MISSING), new.get(name, MISSING), f"{path}[{key}={name}]")
        return
    for i in range(max(len(before), len(after))):
        yield from nested_diff(before[i] if i < len(before) else MISSING,
                               after[i] if i < len(after) else MISSING, f"{path}[{i}]")


def _item_key(*sides: list[Any]) -> str | None:
    """The key every item has, with values unique on each side, or None (then: by position)."""
    items = [i for side in sides for i in side]
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in ITEM_KEYS:
        values = [[i.get(key) for i in side] for side in sides]
        if all(isinstance(v, str | int) for vs in values for v in vs) and all(len(set(vs)) == len(vs) for vs in values):
            return key
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _parsed(value: Any) -> Any:
    """CloudFormation returns objects and lists as JSON text: compare them as structures."""
    if isinstance(value, str) and value[:1] in ("{", "[") and not value.startswith(DYNAMIC_REFERENCE):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _intrinsic(node: dict[str, Any]) -> bool:
    key = next(iter(node), "")
    return len(node) == 1 and (key in ("Ref", "Condition") or key.startswith("Fn::"))


# --- showing values -------------------------------------------------------------------------------

def show(value: Any, path: str = "") -> str:
    """One short line for a value: scalars as they are, intrinsics as !Ref / !GetAtt, the rest compact JSON."""
    if value is MISSING:
        return "(none)"
    if _secret(path) and not (isinstance(value, str) and value.startswith(DYNAMIC_REFERENCE)):
        return HIDDEN
    text = value if isinstance(value, str) else _compact(value)
    return text if len(text) <= WIDTH else text[:WIDTH - 1] + "…"


def _compact(value: Any) -> str:
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            return f"!Ref {arg}"
        if fn == "Fn::GetAtt" and isinstance(arg, list):
            return "!GetAtt " + ".".join(map(str, arg))
        if fn.startswith("Fn::"):
            return f"!{fn[4:]} {json.dumps(arg, separators=(',', ':'), sort_keys=True)}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _secret(path: str) -> bool:
    # Matching on the last two segments catches both `MasterUserPassword` and `Environment[Name=API_KEY].Value`.
    return bool(SECRET_NAME.search(".".join(path.split(".")[-2:])))


# --- from CloudFormation's details ----------------------------------------------------------------

def has_values(change: Mapping[str, Any]) -> bool:
    """Whether a Modify change came with property values (the endpoint honoured IncludePropertyValues)."""
    details = change.get("ResourceChange", {}).get("Details", [])
    return any("BeforeValue" in d.get("Target", {}) or "AfterValue" in d.get("Target", {}) for d in details)


def from_details(details: list[Mapping[str, Any]]) -> list[PropertyChange]:
    """Rows from a change's Details; one row per path, a parameter's cause kept when any detail names it."""
    rows: dict[str, PropertyChange] = {}
    for detail in details:
        target = detail.get("Target", {})
        if "BeforeValue" not in target and "AfterValue" not in target:
            continue
        base = cfn_path(target.get("Path") or f"/{target.get('Attribute', '')}/{target.get('Name', '')}")
        parameter = str(detail.get("CausingEntity", "")) if detail.get("ChangeSource") == "ParameterReference" else ""
        for path, old, new in nested_diff(target.get("BeforeValue", MISSING), target.get("AfterValue", MISSING), base):
            seen = rows.get(path)
            rows[path] = PropertyChange(path, show(old, path), show(new, path),
                                        str(target.get("RequiresRecreation", "")),
                                        parameter or (seen.parameter if seen else ""))
    return list(rows.values())


def cfn_path(path: str) -> str:
    """`/Properties/ContainerDefinitions/0/Cpu` -> `ContainerDefinitions[0].Cpu` (other attributes keep their name)."""
    out = ""
    for part in [p for p in path.split("/") if p][0 if not path.startswith("/Properties") else 1:]:
        out = f"{out}[{part}]" if part.isdigit() else _join(out, part)
    return out


# --- from templates (the fallback) ----------------------------------------------------------------

def substitute(node: Any, values: Mapping[str, str]) -> Any:
    """Put parameter values in: `{"Ref": P}` and `${P}` in Fn::Sub; a Fn::Join of plain strings is joined."""
    if isinstance(node, list):
        return [substitute(n, values) for n in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in values:
        return values[node["Ref"]]
    if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
        text = re.sub(r"\$\{([^}!.]+)\}", lambda m: values.get(m.group(1), m.group(0)), node["Fn::Sub"])
        return text if "${" not in text else {"Fn::Sub": text}
    out = {k: substitute(v, values) for k, v in node.items()}
    joined = out.get("Fn::Join")
    if set(out) == {"Fn::Join"} and isinstance(joined, list) and len(joined) == 2 \
            and isinstance(joined[1], list) and all(isinstance(p, str) for p in [joined[0], *joined[1]]):
        return joined[0].join(joined[1])
    return out


def from_templates(
    logical_id: str, old: Mapping[str, Any], new: Mapping[str, Any],
    old_values: Mapping[str, str], new_values: Mapping[str, str], create_only: frozenset[str] | None = None,
) -> list[PropertyChange]:
    """Rows for one resource from the deployed and the new template (parsed), with parameter values put in.

    A row whose path differs only once values are put in comes from a parameter. `create_only` holds the
    resource type's create-only properties as dotted paths (changing one replaces the resource); None:
    not known, the rows then say nothing about replacement."""
    before = old.get("Resources", {}).get(logical_id, {}).get("Properties", {})
    after = new.get("Resources", {}).get(logical_id, {}).get("Properties", {})
    literal = [p for p, _, _ in nested_diff(before, after)]
    changed = {k for k in set(old_values) | set(new_values) if old_values.get(k) != new_values.get(k)}
    rows = []
    for path, b, a in nested_diff(substitute(before, old_values), substitute(after, new_values)):
        from_parameter = not any(_related(path, p) for p in literal)
        cause = ",".join(sorted(p for p in changed if _uses(after, p))) if from_parameter else ""
        replacement = "" if create_only is None else \
            "Always" if any(path == c or path.startswith((c + ".", c + "[")) for c in create_only) else "Never"
        rows.append(PropertyChange(path, show(b, path), show(a, path), replacement, cause))
    return rows


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith((b + ".", b + "[")) or b.startswith((a + ".", a + "["))


def _uses(node: Any, parameter: str) -> bool:
    text = json.dumps(node)
    return f'{{"Ref": "{parameter}"}}' in text or "${" + parameter + "}" in text


def plain_value(value: str) -> str:
    """A list parameter's value as CloudFormation writes it (`a,b`); an endpoint may answer with a list literal."""
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        return ",".join(item.strip().strip("'\"") for item in text[1:-1].split(",") if item.strip())
    return value


def parameter_changes(
    reads: Mapping[str, str], old_values: Mapping[str, str], new_values: Mapping[str, str]
) -> list[ParameterChange]:
    """The SSM-typed parameters (template parameter -> SSM path) whose value differs from the deployed one."""
    return [ParameterChange(name, path, old_values.get(name, "(none)"), new_values.get(name, "(none)"))
            for name, path in sorted(reads.items()) if old_values.get(name) != new_values.get(name)]
