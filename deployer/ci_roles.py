"""After `--stack ci`: say which role ARN goes into which GitHub variable of which environment.

The ci stack publishes the ARNs under /<prefix>/ci/ (generators/naming.py); they are read back
from SSM, the same place any later look-up would use.
"""

from __future__ import annotations

from typing import Any

from generators.naming import CI_DEPLOY_ROLE_KEY, CI_PLAN_ROLE_KEY, CI_STACK, ci_param

from . import runner

# (SSM key, GitHub variable, GitHub environment suffix)
VARIABLES = ((CI_PLAN_ROLE_KEY, "AWS_PLAN_ROLE_ARN", "-plan"), (CI_DEPLOY_ROLE_KEY, "AWS_DEPLOY_ROLE_ARN", ""))


def report_roles(clients: runner.Clients, s: Any, stack: str) -> None:
    """Print the two variables to set, once the ci stack deployed (or had nothing to change)."""
    if stack != CI_STACK:
        return
    paths = {key: ci_param(s.cfg.prefix, key) for key, _, _ in VARIABLES}
    found = runner.get_parameters(clients.ssm, paths.values())
    s.report.line(f"GitHub variables for environment {s.cfg.env.name} (Settings > Environments):")
    for key, variable, suffix in VARIABLES:
        value = found.get(paths[key], f"(missing: {paths[key]})")
        s.report.line(f"  environment {s.cfg.env.name}{suffix:<5}  {variable:<19} = {value}")
