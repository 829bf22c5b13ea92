"""Build deployer/planning/create_only.json from the CloudFormation resource provider schemas cfn-lint ships,
for every resource type the committed templates use (the review's fallback marks replacements with it).

    .venv/bin/python tests/create_only_table.py     # rewrite the table (tests/test_diff.py checks it)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TABLE = REPO / "deployer" / "planning" / "create_only.json"


def template_types() -> set[str]:
    types: set[str] = set()
    for path in (REPO / "templates").glob("*/*.json"):
        resources = json.loads(path.read_text(encoding="utf-8")).get("Resources", {})
        types |= {r["Type"] for r in resources.values() if not r["Type"].startswith("Custom::")}
    return types


def dotted(schema_path: str) -> str:
    # `/properties/A/B` -> `A.B`; a wildcard level (`/*/`) marks its parent: cautious, never silent.
    parts = schema_path.removeprefix("/properties/").split("/")
    return ".".join(parts[:parts.index("*")] if "*" in parts else parts)


def build() -> dict[str, list[str]]:
    from cfnlint.data import schemas

    base = Path(schemas.__file__).parent
    index = json.loads((base / "providers" / "us-east-1.json").read_text(encoding="utf-8"))
    table = {}
    for t in sorted(template_types()):
        schema = json.loads((base / "resources" / f"{index[t]}.json").read_text(encoding="utf-8"))
        table[t] = sorted({dotted(p) for p in schema.get("createOnlyProperties", [])})
    return table


def render(table: dict[str, list[str]]) -> str:
    return json.dumps(table, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    TABLE.write_text(render(build()), encoding="utf-8")
    print(f"wrote {TABLE.relative_to(REPO)}")
    sys.exit(0)
