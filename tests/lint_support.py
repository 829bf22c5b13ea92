"""cfn-lint for the template tests, imported only when a test lints.

cfn-lint pulls in sympy and networkx (about 2.5 s of CPU): imported at the top of a test module, every
xdist worker paid for it while collecting, even the workers that never run a lint test.
"""

from __future__ import annotations

from functools import cache
from typing import Any


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
