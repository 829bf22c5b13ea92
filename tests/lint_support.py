"""cfn-lint for the template tests, imported only when a test lints.

cfn-lint pulls in sympy and networkx (about 2.5 s of CPU): imported at the top of a test module, every
xdist worker paid for it while collecting, even the workers that never run a lint test.
"""

from __future__ import annotations

from typing import Any


def cfn_lint(template: str, regions: list[str]) -> list[Any]:
    """Every cfn-lint match for the template text, informational rules included."""
    from cfnlint.api import ManualArgs, lint

    return lint(template, config=ManualArgs(regions=regions, include_checks=["I"]))
