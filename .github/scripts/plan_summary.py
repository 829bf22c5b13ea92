#!/usr/bin/env python3
"""Turn `deploy.py --plan --output json` into a job summary and a `changes` step output.

    python deploy.py --plan --stack S --output json > plan.json; code=$?
    python .github/scripts/plan_summary.py plan.json --exit-code "$code" \
        --summary "$GITHUB_STEP_SUMMARY" --output "$GITHUB_OUTPUT"

deploy.py exits 3 when change sets were created and wait for review (or a stack was "not planned":
its first deploy must make an input the plan role may not, `first_deploy=true`): for a pipeline that
is a success with `changes=true`, not a failure. 0 means nothing to change (`changes=false`). Any
other status is passed through so the step fails, after the summary has said why.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_REVIEW = 0, 3
NOT_PLANNED = "not planned"  # deploy.py's status for a stack whose inputs only a deploy creates
MEANING = {0: "nothing to change", 1: "deployment failed", 2: "bad usage, configuration or pre-flight check",
           3: "change sets created, or stacks only a deploy can make, waiting for review",
           4: "declined at the confirmation question"}


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _changes_table(changes: list[dict[str, Any]]) -> list[str]:
    rows = ["| action | logical id | type | replacement |", "|---|---|---|---|"]
    for c in changes:
        replacement = str(c.get("replacement", "-"))
        # Replacement or removal can lose data: make it impossible to miss in the review.
        risky = c.get("action") == "Remove" or replacement in ("True", "Conditional")
        mark = " :warning:" if risky else ""
        rows.append(f"| {_cell(c.get('action', '?'))}{mark} | `{_cell(c.get('logical_id', '?'))}` "
                    f"| {_cell(c.get('type', c.get('resource_type', '?')))} | {_cell(replacement)} |")
    return rows


def _code(value: Any) -> str:
    text = _cell(value).replace("`", "'")  # a backtick would end the code span
    return f"`{text}`"


def _property_tables(changes: list[dict[str, Any]], parameters: list[dict[str, Any]]) -> list[str]:
    """What changes inside each modified resource, before -> after; replacements and SSM re-reads marked."""
    lines: list[str] = []
    for c in changes:
        props = c.get("properties") or []
        if c.get("action") != "Modify" or not props:
            continue
        lines += ["", f"**{_code(c.get('logical_id', '?'))}** ({_cell(c.get('type', '?'))})", "",
                  "| property | before | after | note |", "|---|---|---|---|"]
        for p in props:
            notes = [":warning: forces replacement"] if p.get("requires_replacement") else []
            notes += [f"from SSM ({_code(p['parameter'])})"] if p.get("parameter") else []
            lines.append(f"| {_code(p.get('path', '?'))} | {_code(p.get('before', ''))} | "
                         f"{_code(p.get('after', ''))} | {', '.join(notes)} |")
    if parameters:
        lines += ["", "SSM parameters re-read (new values since the last deploy):", "",
                  "| parameter | SSM path | before | after |", "|---|---|---|---|"]
        lines += [f"| {_code(p.get('name', '?'))} | {_code(p.get('ssm_path', '?'))} | {_code(p.get('before', ''))} "
                  f"| {_code(p.get('after', ''))} |" for p in parameters]
    return lines


def _stack_section(s: dict[str, Any], env: str) -> list[str]:
    changes = s.get("changes") or []
    title = f"#### {s.get('stack', '?')} ({env}): {s.get('status', '?')}"
    lines = [title + (f", {len(changes)} change(s)" if changes else "")]
    if s.get("change_set_id"):
        where = f"[review in the CloudFormation console]({s['console_url']})" if s.get("console_url") else ""
        lines.append(f"Change set `{s['change_set_id']}` on `{s.get('stack_name', '?')}` {where}".rstrip())
    if s.get("reason"):
        lines.append(f"> {_cell(s['reason'])}")
    if changes:
        lines += [""] + _changes_table(changes) + _property_tables(changes, s.get("parameters") or [])
    return lines + [""]


def render(raw: str, code: int) -> str:
    """Markdown for the job summary; never raises, whatever deploy.py printed."""
    head = f"### deploy.py --plan: exit {code} ({MEANING.get(code, 'unexpected exit status')})"
    try:
        doc = json.loads(raw)
        stacks = doc["stacks"]
        assert isinstance(stacks, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        body = raw.strip() or "(no output on stdout: see the step log)"
        return "\n".join([head, "", "```", body[-20000:], "```", ""])
    lines = [head, ""]
    for s in stacks:
        lines += _stack_section(s, str(doc.get("env", "?")))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("plan", type=Path, help="file holding deploy.py's JSON stdout")
    p.add_argument("--exit-code", type=int, required=True, help="deploy.py's exit status")
    p.add_argument("--summary", type=Path, help="append the Markdown here (default: stdout)")
    p.add_argument("--output", type=Path, help="append `changes=true|false` here (GITHUB_OUTPUT)")
    args = p.parse_args(argv)
    raw = args.plan.read_text(encoding="utf-8") if args.plan.exists() else ""
    markdown = render(raw, args.exit_code)
    if args.summary:
        with args.summary.open("a", encoding="utf-8") as f:
            f.write(markdown)
    else:
        sys.stdout.write(markdown)
    if args.exit_code not in (EXIT_OK, EXIT_REVIEW):
        print(f"::error title=deploy.py --plan::exit {args.exit_code}: {MEANING.get(args.exit_code, 'unexpected')}")
        return args.exit_code
    if args.output:
        with args.output.open("a", encoding="utf-8") as f:
            f.write(f"changes={'true' if args.exit_code == EXIT_REVIEW else 'false'}\n")
            f.write(f"first_deploy={'true' if first_deploy(raw) else 'false'}\n")
    return 0


def first_deploy(raw: str) -> bool:
    """A stack the plan could not make (an input only a deploy creates: the origin secret, the first
    image): the deploy job deploys it in one run instead of executing a change set there is none of."""
    try:
        return any(s.get("status") == NOT_PLANNED for s in json.loads(raw)["stacks"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return False


if __name__ == "__main__":
    sys.exit(main())
