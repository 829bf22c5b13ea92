"""The two roles of a Fargate task, kept apart and least-privilege.

The execution role is what ECS uses to start the task (pull the image, write logs); the task
role is what the application's own code may do. Every ARN is built from the partition,
region and account of the stack, so templates work in any partition.
"""

from __future__ import annotations

from typing import Any

from awacs import bedrock, ecr
from awacs import logs as logs_actions
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRole
from troposphere import Sub
from troposphere.iam import Policy, Role

from .agent_browser import browser_access_policy, uses_browser
from .agent_names import profile_of
from .agent_resources import session_access_policy
from .config import Config, ServiceSpec
from .naming import repository_name


def _assume_by_ecs_tasks() -> PolicyDocument:
    # aws:SourceAccount stops another account's ECS from assuming the role (confused deputy).
    return PolicyDocument(Version="2012-10-17", Statement=[Statement(
        Effect=Allow, Principal=Principal("Service", ["ecs-tasks.amazonaws.com"]), Action=[AssumeRole],
        Condition=Condition(StringEquals({"aws:SourceAccount": Sub("${AWS::AccountId}")})),
    )])


def execution_role(cfg: Config, svc: ServiceSpec) -> Role:
    repo = repository_name(cfg.prefix, svc.name)
    log_group = f"/ecs/{cfg.prefix}/{svc.name}"
    return Role(
        "ExecutionRole",
        Description=f"ECS starts {svc.name} tasks with this role: image pull and log delivery only",
        AssumeRolePolicyDocument=_assume_by_ecs_tasks(),
        Policies=[Policy(PolicyName="pull-image-and-write-logs", PolicyDocument=PolicyDocument(
            Version="2012-10-17",
            Statement=[
                # GetAuthorizationToken is account-wide: IAM accepts no resource but "*" for it.
                Statement(Sid="EcrLogin", Effect=Allow, Action=[ecr.GetAuthorizationToken], Resource=["*"]),
                Statement(
                    Sid="PullOwnImage", Effect=Allow,
                    Action=[ecr.BatchCheckLayerAvailability, ecr.GetDownloadUrlForLayer, ecr.BatchGetImage],
                    Resource=[Sub(f"arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{repo}")],
                ),
                Statement(
                    Sid="WriteOwnLogs", Effect=Allow,
                    Action=[logs_actions.CreateLogStream, logs_actions.PutLogEvents],
                    Resource=[Sub(
                        f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{log_group}:*")],
                ),
            ],
        ))],
    )


def task_role(cfg: Config, svc: ServiceSpec, session_bucket: Any = None) -> Role:
    policies = []
    if svc.bedrock_models:
        policies.append(Policy(PolicyName="invoke-configured-models", PolicyDocument=PolicyDocument(
            Version="2012-10-17",
            # Converse authorises as InvokeModel and ConverseStream as InvokeModelWithResponseStream:
            # these two actions cover all four APIs, on the configured models only.
            Statement=model_statements(svc.bedrock_models),
        )))
    if session_bucket is not None:
        policies.append(session_access_policy(session_bucket))
    if uses_browser(svc):
        policies.append(browser_access_policy(cfg.prefix, svc))
    role = Role(
        "TaskRole",
        Description=f"{svc.name} application code runs with this role",
        AssumeRolePolicyDocument=_assume_by_ecs_tasks(),
    )
    if policies:
        role.Policies = policies
    return role


_INVOKE = [bedrock.InvokeModel, bedrock.InvokeModelWithResponseStream]


def model_statements(models: tuple[str, ...]) -> list[Statement]:
    """Plain model ids: that model in this region. An inference-profile id: the profile in this
    account and region, and its model in whichever region the profile routes to (the list
    changes over time), only when called through that profile."""
    plain = [m for m in models if profile_of(m) is None]
    statements = []
    if plain:
        statements.append(Statement(
            Sid="InvokeConfiguredModels", Effect=Allow, Action=_INVOKE,
            Resource=[Sub(f"arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}::foundation-model/{m}") for m in plain],
        ))
    for index, model in enumerate(m for m in models if profile_of(m) is not None):
        geography, base = profile_of(model)  # type: ignore[misc]
        profile = Sub(f"arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}:${{AWS::AccountId}}:inference-profile/{model}")
        targets = [Sub(f"arn:${{AWS::Partition}}:bedrock:*::foundation-model/{base}")]
        if geography == "global":  # global profiles also name the model without a region
            targets.append(Sub(f"arn:${{AWS::Partition}}:bedrock:::foundation-model/{base}"))
        statements.append(Statement(Sid=f"InvokeProfile{index}", Effect=Allow, Action=_INVOKE, Resource=[profile]))
        statements.append(Statement(
            Sid=f"InvokeProfile{index}Models", Effect=Allow, Action=_INVOKE, Resource=targets,
            Condition=Condition(StringEquals({"bedrock:InferenceProfileArn": profile})),
        ))
    return statements
