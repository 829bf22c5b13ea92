"""A service's `secrets`: the container's `Secrets`, and the execution role's read of exactly those.

ECS resolves each reference when it starts a task, with the execution role (not the task role):
so only that role may read them, and only them. SSM parameters are named by ARN, so the policy
and the task definition name the same resource.
"""

from __future__ import annotations

from awacs import kms, secretsmanager, ssm
from awacs.aws import Allow, PolicyDocument, Statement
from troposphere import Sub, ecs
from troposphere.iam import Policy, Role

from .config import ServiceSpec
from .ops_config import Secret


def parameter_arn(path: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{path}")


def value_from(secret: Secret) -> object:
    if secret.is_ssm:
        return parameter_arn(secret.target)
    # <secret ARN>:<json-key>:<version-stage>:<version-id>; empty stage and id mean AWSCURRENT.
    return f"{secret.target}:{secret.json_key}::" if secret.json_key else secret.target


def container_secrets(svc: ServiceSpec) -> list[ecs.Secret]:
    return [ecs.Secret(Name=s.name, ValueFrom=value_from(s)) for s in svc.secrets]


def secrets_policy(svc: ServiceSpec) -> Policy:
    statements = []
    params = [parameter_arn(s.target) for s in svc.secrets if s.is_ssm]
    if params:
        statements.append(Statement(Sid="ReadOwnParameters", Effect=Allow, Action=[ssm.GetParameters],
                                    Resource=params))
    arns = list(dict.fromkeys(s.target for s in svc.secrets if not s.is_ssm))
    if arns:
        statements.append(Statement(Sid="ReadOwnSecrets", Effect=Allow, Action=[secretsmanager.GetSecretValue],
                                    Resource=arns))
    if svc.secrets_kms_key:
        statements.append(Statement(Sid="DecryptWithNamedKey", Effect=Allow, Action=[kms.Decrypt],
                                    Resource=[svc.secrets_kms_key]))
    return Policy(PolicyName="read-own-secrets", PolicyDocument=PolicyDocument(Version="2012-10-17",
                                                                               Statement=statements))


def add_secrets(svc: ServiceSpec, task: ecs.TaskDefinition, execution: Role) -> None:
    """Nothing at all without `secrets`: the role keeps its two-purpose policy."""
    if not svc.secrets:
        return
    task.ContainerDefinitions[0].Secrets = container_secrets(svc)
    execution.Policies = [*execution.Policies, secrets_policy(svc)]
