"""After `deploy.py --stack ci`: the two role ARNs, phrased as the GitHub variables to set."""

from __future__ import annotations

from deployer.aws import runner, storage
from generators.naming import ci_param

# SSM key -> (GitHub environment suffix, variable name): the workflows read exactly these.
VARIABLES = {"plan-role-arn": ("-plan", "AWS_PLAN_ROLE_ARN"), "deploy-role-arn": ("", "AWS_DEPLOY_ROLE_ARN")}


def role_lines(clients: runner.Clients, prefix: str, env: str) -> list[str]:
    paths = {key: ci_param(prefix, key) for key in VARIABLES}
    found = storage.get_parameters(clients.ssm, set(paths.values()))
    lines = [f"  GitHub environment {env + suffix:<14} variable {name:<20} = {found[paths[key]]}"
             for key, (suffix, name) in VARIABLES.items() if paths[key] in found]
    return ["set these GitHub variables (Settings > Environments):", *lines] if lines else []
