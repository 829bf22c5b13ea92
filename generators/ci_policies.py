"""The permission policies of the `ci` stack's two roles (see generators/ci.py for the why).

Every ARN is built from ${AWS::Partition} and ${AWS::AccountId}; the region is `*` where a stack
of the environment may live in another region (the edge stack in us-east-1 and its parameters).
"""

from __future__ import annotations

from awacs import cloudformation as cfn
from awacs import ecr, iam, kms, s3, secretsmanager, ssm
from awacs.aws import (
    Action,
    Allow,
    Condition,
    Deny,
    ForAnyValueStringEquals,
    PolicyDocument,
    Statement,
    StringEquals,
    StringLike,
)
from troposphere import Sub

from .config import Config
from .naming import CI_STACK, DEPLOY_ARTIFACTS, PLAN_ARTIFACTS, artifacts_bucket, ci_role_name, stack_name

# The services the stacks' roles are passed to: ECS runs tasks with the task and execution roles;
# VPC flow logs deliver with a role of their own. A stack that passes a role elsewhere adds it here.
PASSED_TO = ["ecs-tasks.amazonaws.com", "vpc-flow-logs.amazonaws.com"]
SERVICE_LINKED = ["ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com",
                  "ecs.application-autoscaling.amazonaws.com"]
# Created only through CloudFormation: their ARNs are ids AWS picks, so no name of ours can scope them.
THROUGH_CLOUDFORMATION = ["ec2", "elasticloadbalancing", "ecs", "application-autoscaling", "cloudfront",
                          "cognito-idp", "kms", "sns", "cloudwatch", "budgets", "wafv2", "route53", "acm", "logs"]
FORBIDDEN_TO_PLAN = [cfn.ExecuteChangeSet, ssm.PutParameter, ssm.DeleteParameter, ecr.PutImage,
                     ecr.InitiateLayerUpload, iam.PassRole, kms.Decrypt, secretsmanager.GetSecretValue]
IAM_ROLE_WRITES = [iam.CreateRole, iam.DeleteRole, iam.UpdateRole, iam.UpdateRoleDescription,
                   iam.UpdateAssumeRolePolicy, iam.PutRolePolicy, iam.DeleteRolePolicy, iam.AttachRolePolicy,
                   iam.DetachRolePolicy, iam.TagRole, iam.UntagRole]
IAM_ROLE_READS = [iam.GetRole, iam.GetRolePolicy, iam.ListRolePolicies, iam.ListAttachedRolePolicies,
                  iam.ListRoleTags]
STACK_WRITES = [cfn.CreateChangeSet, cfn.ExecuteChangeSet, cfn.DeleteChangeSet, cfn.DeleteStack,
                cfn.CancelUpdateStack, cfn.ContinueUpdateRollback, cfn.UpdateTerminationProtection,
                cfn.TagResource, cfn.UntagResource, cfn.CreateStack, cfn.UpdateStack]
READ_STACKS = [cfn.DescribeStacks, cfn.DescribeStackEvents, cfn.DescribeStackResource, cfn.DescribeStackResources,
               cfn.GetTemplate, cfn.GetTemplateSummary, cfn.ListStackResources, cfn.ListChangeSets,
               cfn.DescribeChangeSet]
READ_PARAMETERS = [ssm.GetParameter, ssm.GetParameters, ssm.GetParameterHistory]
WRITE_PARAMETERS = [ssm.PutParameter, ssm.DeleteParameter, ssm.AddTagsToResource, ssm.RemoveTagsFromResource,
                    ssm.ListTagsForResource]
READ_IMAGES = [ecr.DescribeRepositories, ecr.DescribeImages, ecr.ListImages]
BUCKET_WRITES = [s3.CreateBucket, s3.DeleteBucket, s3.ListBucket, s3.ListBucketVersions, Action("s3", "GetBucket*"),
                 Action("s3", "PutBucket*"), s3.DeleteBucketPolicy, s3.GetEncryptionConfiguration,
                 s3.PutEncryptionConfiguration, s3.GetLifecycleConfiguration, s3.PutLifecycleConfiguration,
                 s3.GetObject, s3.PutObject, s3.DeleteObject, s3.DeleteObjectVersion]
VIA_CLOUDFORMATION = Condition(ForAnyValueStringEquals({"aws:CalledVia": "cloudformation.amazonaws.com"}))
def _arn(service: str, resource: str, region: str = "*") -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:{service}:{region}:${{AWS::AccountId}}:{resource}")


def _bucket(cfg: Config, key: str = "") -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:s3:::{artifacts_bucket(cfg.prefix, cfg.env.region)}{key}")


def _names(cfg: Config) -> dict[str, Sub]:
    p = cfg.prefix
    return {
        "stacks": _arn("cloudformation", f"stack/{p}-*/*"),
        "ci-stack": _arn("cloudformation", f"stack/{stack_name(p, CI_STACK)}/*"),
        "parameters": _arn("ssm", f"parameter/{p}/*"),
        "repositories": _arn("ecr", f"repository/{p}/*", "${AWS::Region}"),
        "roles": Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{p}-*"),
        "ci-roles": Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{ci_role_name(p, '*')}"),
    }


READ_STACKS = [cfn.DescribeStacks, cfn.DescribeStackEvents, cfn.DescribeStackResource, cfn.DescribeStackResources,
               cfn.GetTemplate, cfn.GetTemplateSummary, cfn.ListStackResources, cfn.ListChangeSets,
               cfn.DescribeChangeSet]
READ_PARAMETERS = [ssm.GetParameter, ssm.GetParameters, ssm.GetParameterHistory]
READ_IMAGES = [ecr.DescribeRepositories, ecr.DescribeImages, ecr.ListImages]


def plan_policy(cfg: Config) -> PolicyDocument:
    n = _names(cfg)
    return PolicyDocument(Version="2012-10-17", Statement=[
        Statement(Sid="ReadStacks", Effect=Allow, Action=READ_STACKS, Resource=[n["stacks"]]),
        # DescribeStacks without a name (finding stacks no longer configured) accepts only "*".
        Statement(Sid="ListStacks", Effect=Allow, Action=[cfn.DescribeStacks], Resource=["*"]),
        Statement(Sid="ChangeSets", Effect=Allow, Action=[cfn.CreateChangeSet, cfn.DeleteChangeSet],
                  Resource=[n["stacks"]]),
        # String parameters only in effect: kms:Decrypt is denied below (the aws/ssm key's policy would
        # otherwise decrypt a SecureString for anyone who may read it), so one stays ciphertext.
        Statement(Sid="ReadParameters", Effect=Allow, Action=READ_PARAMETERS, Resource=[n["parameters"]]),
        Statement(Sid="ReadImages", Effect=Allow, Action=READ_IMAGES, Resource=[n["repositories"]]),
        *artifact_statements(cfg, PLAN_ARTIFACTS, [s3.PutObject, s3.GetObject]),
        Statement(Sid="NeverChange", Effect=Deny, Action=FORBIDDEN_TO_PLAN, Resource=["*"]),
    ])


def artifact_statements(cfg: Config, folder: str, actions: list[Action]) -> list[Statement]:
    """Oversized templates: objects under one folder, and the checks before first use (ownership:
    is the bucket in our own list of buckets?)."""
    return [
        Statement(Sid="ArtifactObjects", Effect=Allow, Action=actions, Resource=[_bucket(cfg, f"/{folder}/*")]),
        Statement(Sid="ArtifactBucket", Effect=Allow, Action=[s3.ListBucket, s3.GetBucketVersioning],
                  Resource=[_bucket(cfg)]),
        # ListAllMyBuckets has no resource but "*": the ownership check lists our own buckets.
        Statement(Sid="OwnBuckets", Effect=Allow, Action=[s3.ListAllMyBuckets], Resource=["*"]),
    ]


def deploy_policy(cfg: Config) -> PolicyDocument:
    n = _names(cfg)
    return PolicyDocument(Version="2012-10-17", Statement=[
        Statement(Sid="Stacks", Effect=Allow, Action=READ_STACKS + STACK_WRITES, Resource=[n["stacks"]]),
        Statement(Sid="ListStacks", Effect=Allow, Action=[cfn.DescribeStacks], Resource=["*"]),
        Statement(Sid="Parameters", Effect=Allow, Action=READ_PARAMETERS + WRITE_PARAMETERS,
                  Resource=[n["parameters"]]),
        Statement(Sid="Repositories", Effect=Allow, Action=[Action("ecr", "*")], Resource=[n["repositories"]]),
        # GetAuthorizationToken (docker login) is account-wide: IAM accepts no resource but "*".
        Statement(Sid="RegistryLogin", Effect=Allow, Action=[ecr.GetAuthorizationToken], Resource=["*"]),
        Statement(Sid="StackRoles", Effect=Allow, Action=IAM_ROLE_WRITES + IAM_ROLE_READS, Resource=[n["roles"]]),
        Statement(Sid="PassStackRoles", Effect=Allow, Action=[iam.PassRole], Resource=[n["roles"]],
                  Condition=Condition(StringEquals({"iam:PassedToService": PASSED_TO}))),
        Statement(Sid="ServiceLinkedRoles", Effect=Allow, Action=[iam.CreateServiceLinkedRole],
                  Resource=[Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*")],
                  Condition=Condition(StringEquals({"iam:AWSServiceName": SERVICE_LINKED}))),
        Statement(Sid="Buckets", Effect=Allow, Action=BUCKET_WRITES,
                  Resource=[Sub(f"arn:${{AWS::Partition}}:s3:::{cfg.prefix}-*")]),
        *artifact_statements(cfg, DEPLOY_ARTIFACTS, [s3.PutObject, s3.GetObject]),
        Statement(Sid="ThroughCloudFormation", Effect=Allow,
                  Action=[Action(service, "*") for service in THROUGH_CLOUDFORMATION], Resource=["*"],
                  Condition=VIA_CLOUDFORMATION),
        # --publish frontend invalidates the distribution itself; its id is one AWS picks.
        Statement(Sid="Invalidate", Effect=Allow, Action=[Action("cloudfront", "CreateInvalidation")],
                  Resource=[Sub("arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*")]),
        *deploy_denials(cfg),
    ])


def deploy_denials(cfg: Config) -> list[Statement]:
    """What the deploy role may never do, whatever else is allowed: change the ci stack or its
    roles (it would widen its own rights), or read what a pull request's plan uploaded."""
    n = _names(cfg)
    return [
        Statement(Sid="NotTheCiStack", Effect=Deny, Action=STACK_WRITES, Resource=[n["ci-stack"]]),
        Statement(Sid="NotTheCiRoles", Effect=Deny, Action=IAM_ROLE_WRITES + [iam.PassRole],
                  Resource=[n["ci-roles"]]),
        Statement(Sid="NotPlanUploads", Effect=Deny, Action=[s3.GetObject],
                  Resource=[_bucket(cfg, f"/{PLAN_ARTIFACTS}/*")]),
        # Secrets are for the tasks (their execution role), never for a pipeline. The aws/ssm key's
        # policy lets any principal that may read a parameter decrypt it through SSM: only an
        # explicit Deny keeps SecureString values out of reach.
        Statement(Sid="NoSecretValues", Effect=Deny, Action=[secretsmanager.GetSecretValue], Resource=["*"]),
        Statement(Sid="NoSecureStrings", Effect=Deny, Action=[kms.Decrypt], Resource=["*"],
                  Condition=Condition(StringLike({"kms:ViaService": "ssm.*.amazonaws.com"}))),
    ]
