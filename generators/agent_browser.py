"""The browser tool's AWS side: a Nova Act workflow definition in the service's stack, and what
the task role may do with it. Only a service whose `[services.agent].tools` names "browser" gets any.

nova-act authenticates in AWS with IAM through a `Workflow` (a boto3 session on the task role's
credentials) tied to a workflow definition; the SDK calls the Nova Act service in us-east-1 only
(its endpoint is fixed there), and AWS::NovaAct::WorkflowDefinition exists in no other commercial
region, so an environment using the browser must be in us-east-1 (checked with the configuration).
The calls one act makes: CreateWorkflowRun and UpdateWorkflowRun (the Workflow context), then
CreateSession, CreateAct, InvokeActStep and UpdateAct (NovaAct); each authorises on the workflow
definition and its runs, which is all the role gets.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from awacs import nova_act
from awacs.aws import Allow, Policy, Statement
from troposphere import Sub, Template, novaact
from troposphere.iam import Policy as RolePolicy

from .schema import ConfigError

if TYPE_CHECKING:  # config.py calls check_browser: only the types come from there
    from .config import EnvConfig, ServiceSpec

NOVA_ACT_REGION = "us-east-1"
WORKFLOW_ID = "BrowserWorkflow"
WORKFLOW_NAME_MAX = 40  # Nova Act: [a-zA-Z0-9_-]{1,40}
ACTIONS = [nova_act.CreateWorkflowRun, nova_act.UpdateWorkflowRun, nova_act.CreateSession, nova_act.CreateAct,
           nova_act.InvokeActStep, nova_act.UpdateAct]


def uses_browser(svc: ServiceSpec) -> bool:
    return svc.agent is not None and "browser" in svc.agent.tools


def workflow_name(prefix: str, service: str) -> str:
    return f"{prefix}-{service}"


def check_browser(where: str, env: EnvConfig, services: Iterable[ServiceSpec]) -> None:
    for svc in filter(uses_browser, services):
        if env.region != NOVA_ACT_REGION:
            raise ConfigError(f"{where}: environments.{env.name}.region: {svc.name}'s browser tool needs Nova Act, "
                              f"which runs in {NOVA_ACT_REGION} only (expected region = \"{NOVA_ACT_REGION}\", "
                              "or drop \"browser\" from its agent tools)")
        name = workflow_name(env.prefix, svc.name)
        if len(name) > WORKFLOW_NAME_MAX:
            raise ConfigError(f"{where}: {svc.name}: the Nova Act workflow definition name {name!r} is {len(name)} "
                              f"characters long (expected at most {WORKFLOW_NAME_MAX}: shorten the prefix or name)")


def add_browser_workflow(t: Template, prefix: str, svc: ServiceSpec) -> None:
    if uses_browser(svc):
        t.add_resource(novaact.WorkflowDefinition(
            WORKFLOW_ID, Name=workflow_name(prefix, svc.name),
            Description=f"{svc.name}'s browser tool (nova-act): every act of the agent runs under it",
        ))


def browser_access_policy(prefix: str, svc: ServiceSpec) -> RolePolicy:
    definition = (f"arn:${{AWS::Partition}}:nova-act:{NOVA_ACT_REGION}:${{AWS::AccountId}}:"
                  f"workflow-definition/{workflow_name(prefix, svc.name)}")
    return RolePolicy(PolicyName="agent-browser", PolicyDocument=Policy(Version="2012-10-17", Statement=[
        Statement(Sid="NovaActWorkflowRuns", Effect=Allow, Action=ACTIONS,
                  Resource=[Sub(definition), Sub(f"{definition}/workflow-run/*")]),
    ]))


def browser_environment(prefix: str, svc: ServiceSpec) -> dict[str, str]:
    """The variables inference_api.agent_settings reads for the browser (never NOVA_ACT_API_KEY)."""
    if not uses_browser(svc):
        return {}
    return {"AGENT_BROWSER_WORKFLOW": workflow_name(prefix, svc.name), "AGENT_BROWSER_REGION": NOVA_ACT_REGION}
