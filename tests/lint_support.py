"""cfn-lint for the template tests, imported only when a test lints.

cfn-lint pulls in sympy and networkx (about 2.5 s of CPU): imported at the top of a test module, every
xdist worker paid for it while collecting, even the workers that never run a lint test.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import cache
from importlib.metadata import version
from typing import Any

from session_support import kept_between_runs


@cache
def _rules() -> Any:
    """cfn-lint's rules, loaded once per process. `cfnlint.api.lint` loads every rule module again
    on each call (about 1.5 s of CPU, as much as linting one of our templates); the cfn-lint CLI
    loads them once and runs them over every file it is given, as this does."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(include_checks=["I"])).rules


def cfn_lint(template: str, regions: list[str]) -> list[Any]:
    """Every cfn-lint match for the template text, informational rules included (what
    `cfnlint.api.lint` returns: decode errors, else the CLI's Runner.validate_template)."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.decode.decode import decode_str
    from cfnlint.runner import run_template_by_data

    decoded, errors = decode_str(template)
    if errors:
        return errors
    config = ConfigMixIn(regions=regions, include_checks=["I"])
    return list(run_template_by_data(decoded, config, _rules())) if decoded is not None else []


def cfn_lint_texts(template: str, regions: list[str]) -> list[str]:
    """cfn_lint's matches as text, kept between runs: a result depends only on the template's text, the
    regions and cfn-lint's version (its rules and resource specs ship with it), so an unchanged template
    is not linted again (a lint costs up to 1 s of CPU, and importing cfn-lint and loading its rules 4 s
    per process that lints). Kept in session_support.kept_between_runs("cfn-lint")."""
    key = json.dumps([version("cfn-lint"), regions, "I", template])
    path = kept_between_runs("cfn-lint") / f"{hashlib.sha256(key.encode()).hexdigest()}.json"
    try:
        return [str(m) for m in json.loads(path.read_text())]
    except (OSError, ValueError):
        pass
    texts = [str(m) for m in cfn_lint(template, regions)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        json.dump(texts, handle)
    os.replace(handle.name, path)  # whole or not at all: a reader never sees half a result
    return texts
