"""The permission policies of the `ci` stack's three roles (generators/ci.py builds the roles).

As CDK's bootstrap does, the pipelines never hold what the stacks need: CloudFormation acts through
its own service role (`<prefix>-ci-cloudformation`, assumable by CloudFormation only), and the deploy
role gets only what deploy.py calls itself: change sets on `<prefix>-*` that name that role, SSM
writes under /<prefix>/, image pushes to `<prefix>/*`, the artifacts bucket and the site's bucket,
the Secrets Manager secrets the tool manages (`<prefix>/*`), and iam:PassRole of exactly that role.
Neither CI role can read a secret value or decrypt a SecureString; the tasks' execution roles can
(generators/service_secrets.py), so no `secrets_kms_key` is ever needed by a pipeline.
"""

from __future__ import annotations

from awacs.aws import Action, Allow, Condition, Deny, PolicyDocument, Statement, StringEquals, StringNotLike
from troposphere import Sub

from .config import Config
from .naming import PLAN_UPLOAD_PREFIX, ci_param, ci_role_name, regional_artifacts_base
from .service_secrets import parameter_arn

ARN = "arn:${AWS::Partition}"
ACCOUNT = "${AWS::AccountId}"
# Services whose resources the stacks create and whose ARNs carry no name we choose (ids made up by
# AWS): the CloudFormation role gets the namespace. Only CloudFormation can assume that role.
BROAD_NAMESPACES = ("ec2", "ecs", "elasticloadbalancing", "application-autoscaling", "autoscaling", "cloudfront",
                    "cloudwatch", "cognito-idp", "kms", "route53", "budgets", "wafv2", "acm")
# Roles the stacks create are handed to these services only (task and execution roles, the NAT
# instance, flow logs' delivery role).
PASSED_TO = ("ecs-tasks.amazonaws.com", "ec2.amazonaws.com", "vpc-flow-logs.amazonaws.com")
STACK_READS = ("DescribeStacks", "DescribeStackEvents", "DescribeStackResource", "DescribeStackResources",
               "ListStackResources", "GetTemplate", "GetTemplateSummary", "DescribeChangeSet", "ListChangeSets")
DEPLOY_STACK_WRITES = ("ExecuteChangeSet", "DeleteChangeSet", "DeleteStack", "CancelUpdateStack",
                       "ContinueUpdateRollback", "UpdateTerminationProtection", "TagResource")
PARAMETER_READS = ("GetParameter", "GetParameters", "GetParameterHistory")
PARAMETER_WRITES = ("PutParameter", "DeleteParameter", "AddTagsToResource", "RemoveTagsFromResource")
IMAGE_PUSH = ("BatchCheckLayerAvailability", "InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload",
              "PutImage", "BatchGetImage", "GetDownloadUrlForLayer", "DescribeImages", "DescribeRepositories",
              "ListImages", "BatchDeleteImage")
BUCKET_SETUP = ("CreateBucket", "ListBucket", "ListBucketVersions", "GetBucketVersioning", "PutBucketVersioning",
                "GetBucketPolicy", "PutBucketPolicy", "PutLifecycleConfiguration", "PutEncryptionConfiguration",
                "PutBucketPublicAccessBlock")
OWN_SECRETS = ("DescribeSecret", "CreateSecret", "PutSecretValue", "TagResource")
PLAN_DENIED = (Action("cloudformation", "ExecuteChangeSet"), Action("ssm", "PutParameter"),
               Action("ssm", "DeleteParameter"), Action("ecr", "PutImage"), Action("ecr", "InitiateLayerUpload"),
               Action("iam", "PassRole"))


def _doc(*statements: Statement) -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=list(statements))


def _actions(service: str, *names: str) -> list[Action]:
    return [Action(service, n) for n in names]


def _role_arn(prefix: str, kind: str) -> Sub:
    return Sub(f"{ARN}:iam::{ACCOUNT}:role/{ci_role_name(prefix, kind)}")


def scopes(cfg: Config) -> dict[str, list[Sub]]:
    """The environment's own resources, by prefix: stacks, parameters, repositories, artifacts bucket."""
    p = cfg.prefix
    return {
        # Any region: the edge stack lives in us-east-1 and copies its SSM outputs home.
        "stacks": [Sub(f"{ARN}:cloudformation:*:{ACCOUNT}:stack/{p}-*/*"),
                   Sub(f"{ARN}:cloudformation:*:{ACCOUNT}:changeSet/*/*")],
        "parameters": [Sub(f"{ARN}:ssm:*:{ACCOUNT}:parameter/{p}/*")],
        "repositories": [Sub(f"{ARN}:ecr:*:{ACCOUNT}:repository/{p}/*")],
        # The account-regional name (<base>-<account>-<region>-an) and the global fallback (<prefix>-cfn-...).
        "bucket": [Sub(f"{ARN}:s3:::{b}-*") for b in dict.fromkeys((regional_artifacts_base(p), f"{p}-cfn"))],
    }


def _bucket_keys(cfg: Config, key: str) -> list[Sub]:
    return [Sub(b.data["Fn::Sub"] + key) for b in scopes(cfg)["bucket"]]


def _own_account() -> Condition:
    # The bucket name is predictable: a bucket of that name in another account is never used.
    return Condition(StringEquals({"s3:ResourceAccount": Sub(ACCOUNT)}))


def never_secrets() -> list[Statement]:
    """Neither CI role reads a secret value, nor decrypts anything but through Secrets Manager (whose
    CreateSecret/PutSecretValue encrypt with KMS for the caller, never handing plaintext back). Not
    granting is not enough: the AWS managed aws/ssm key's policy lets every principal of the account
    that may read a parameter decrypt it through SSM, so only an explicit Deny keeps a SecureString
    under /<prefix>/ out of a pipeline."""
    return [
        Statement(Sid="NoSecretValues", Effect=Deny, Action=[Action("secretsmanager", "GetSecretValue")],
                  Resource=["*"]),
        Statement(Sid="NoDecryption", Effect=Deny, Action=[Action("kms", "Decrypt")], Resource=["*"],
                  Condition=Condition(StringNotLike({"kms:ViaService": "secretsmanager.*.amazonaws.com"}))),
    ]


def plan_policy(cfg: Config) -> PolicyDocument:
    s = scopes(cfg)
    return _doc(
        Statement(Sid="ProposeChangeSets", Effect=Allow,
                  Action=_actions("cloudformation", *STACK_READS, "CreateChangeSet", "DeleteChangeSet"),
                  Resource=s["stacks"]),
        Statement(Sid="ListImages", Effect=Allow, Action=_actions("ecr", "DescribeImages", "ListImages",
                                                                  "DescribeRepositories"),
                  Resource=s["repositories"]),
        Statement(Sid="ReadParameters", Effect=Allow, Action=_actions("ssm", *PARAMETER_READS),
                  Resource=s["parameters"] + _secret_parameters(cfg)),
        Statement(Sid="UploadPlanTemplates", Effect=Allow, Action=_actions("s3", "PutObject", "GetObject"),
                  Resource=_bucket_keys(cfg, f"/{PLAN_UPLOAD_PREFIX}*"), Condition=_own_account()),
        Statement(Sid="CheckArtifactsBucket", Effect=Allow, Action=_actions("s3", "ListBucket", "GetBucketVersioning"),
                  Resource=s["bucket"], Condition=_own_account()),
        *_identity_and_secret_checks(cfg),
        *never_secrets(),
        # The changes this role must never make are denied too, so a policy attached later cannot grant them.
        Statement(Sid="NeverChanges", Effect=Deny, Action=list(PLAN_DENIED), Resource=["*"]),
    )


def _secret_parameters(cfg: Config) -> list[Sub]:
    """SSM parameters the services' `secrets` name: pre-flight checks that they exist (never their value)."""
    return [parameter_arn(p) for p in dict.fromkeys(s.target for svc in cfg.services for s in svc.secrets
                                                    if s.is_ssm)]


def _identity_and_secret_checks(cfg: Config) -> list[Statement]:
    arns = list(dict.fromkeys(s.target for svc in cfg.services for s in svc.secrets if not s.is_ssm))
    own = Sub(f"{ARN}:secretsmanager:*:{ACCOUNT}:secret:{cfg.prefix}/*")
    return [
        # These accept only Resource "*": who am I, which buckets are mine (the ownership check), and
        # which stacks exist (DescribeStacks without a name: stacks no longer configured, orphans.py).
        Statement(Sid="Identity", Effect=Allow, Action=[Action("sts", "GetCallerIdentity"),
                                                        Action("s3", "ListAllMyBuckets"),
                                                        Action("cloudformation", "DescribeStacks")], Resource=["*"]),
        # Pre-flight: the secrets the services name, and the origin secret, exist (metadata only).
        Statement(Sid="SecretsExist", Effect=Allow, Action=[Action("secretsmanager", "DescribeSecret")],
                  Resource=[own, *arns]),
    ]


def deploy_policy(cfg: Config) -> PolicyDocument:
    s, p = scopes(cfg), cfg.prefix
    cfn_role = _role_arn(p, "cloudformation")
    return _doc(
        Statement(Sid="ReadStacks", Effect=Allow, Action=_actions("cloudformation", *STACK_READS,
                                                                  *DEPLOY_STACK_WRITES), Resource=s["stacks"]),
        # A change set of this role always names the CloudFormation role, which does the work.
        Statement(Sid="ChangeSetsThroughTheCloudFormationRole", Effect=Allow,
                  Action=[Action("cloudformation", "CreateChangeSet")], Resource=s["stacks"],
                  Condition=Condition(StringEquals({"cloudformation:RoleArn": cfn_role}))),
        Statement(Sid="PassTheCloudFormationRole", Effect=Allow, Action=[Action("iam", "PassRole")],
                  Resource=[cfn_role],
                  Condition=Condition(StringEquals({"iam:PassedToService": "cloudformation.amazonaws.com"}))),
        Statement(Sid="ImageTagsAndSecretVersions", Effect=Allow,
                  Action=_actions("ssm", *PARAMETER_READS, *PARAMETER_WRITES), Resource=s["parameters"]),
        *([Statement(Sid="SecretParametersExist", Effect=Allow, Action=_actions("ssm", *PARAMETER_READS),
                     Resource=_secret_parameters(cfg))] if _secret_parameters(cfg) else []),
        Statement(Sid="PushImages", Effect=Allow, Action=_actions("ecr", *IMAGE_PUSH), Resource=s["repositories"]),
        # ecr:GetAuthorizationToken is account-wide: IAM accepts no resource but "*" for it.
        Statement(Sid="RegistryLogin", Effect=Allow, Action=[Action("ecr", "GetAuthorizationToken")], Resource=["*"]),
        Statement(Sid="ArtifactsBucket", Effect=Allow, Action=_actions("s3", *BUCKET_SETUP), Resource=s["bucket"]),
        # Deployments read only what deployments wrote (<stack name>/...), never plan/.
        Statement(Sid="ArtifactsTemplates", Effect=Allow, Action=_actions("s3", "PutObject", "GetObject"),
                  Resource=_bucket_keys(cfg, f"/{p}-*"), Condition=_own_account()),
        # --publish frontend: the site's bucket (<prefix>-...), then a CloudFront invalidation.
        Statement(Sid="PublishSite", Effect=Allow, Action=_actions("s3", "ListBucket", "GetObject", "PutObject",
                                                                   "DeleteObject"),
                  Resource=[Sub(f"{ARN}:s3:::{p}-*"), Sub(f"{ARN}:s3:::{p}-*/*")]),
        Statement(Sid="InvalidateSite", Effect=Allow, Action=_actions("cloudfront", "CreateInvalidation",
                                                                      "GetInvalidation"),
                  Resource=[Sub(f"{ARN}:cloudfront::{ACCOUNT}:distribution/*")]),
        Statement(Sid="OriginSecret", Effect=Allow, Action=_actions("secretsmanager", *OWN_SECRETS),
                  Resource=[Sub(f"{ARN}:secretsmanager:*:{ACCOUNT}:secret:{p}/*")]),
        # After a deploy: did the services' rollouts settle (read-only; these accept only "*").
        Statement(Sid="RolloutVerdict", Effect=Allow, Action=[
            Action("ecs", "DescribeServices"), Action("ecs", "DescribeTaskDefinition"),
            Action("cloudwatch", "DescribeAlarms"), Action("elasticloadbalancing", "DescribeTargetHealth")],
                  Resource=["*"]),
        *_identity_and_secret_checks(cfg),
        *deploy_denials(cfg),
    )


def deploy_denials(cfg: Config) -> list[Statement]:
    """What the deploy role may never do, whatever is attached later: change the ci stack or its
    parameters (it would widen its own rights), read what a pull request's plan uploaded, or a secret."""
    p = cfg.prefix
    return [
        Statement(Sid="NotTheCiStack", Effect=Deny, Action=_actions("cloudformation", "CreateChangeSet",
                                                                    *DEPLOY_STACK_WRITES),
                  Resource=[Sub(f"{ARN}:cloudformation:*:{ACCOUNT}:stack/{p}-ci/*")]),
        Statement(Sid="NotTheCiParameters", Effect=Deny, Action=_actions("ssm", *PARAMETER_WRITES),
                  Resource=[Sub(f"{ARN}:ssm:*:{ACCOUNT}:parameter{ci_param(p, '*')}")]),
        # Plans are uploaded by pull-request jobs: a deployment never reads one.
        Statement(Sid="NeverPlanUploads", Effect=Deny, Action=[Action("s3", "GetObject")],
                  Resource=_bucket_keys(cfg, f"/{PLAN_UPLOAD_PREFIX}*")),
        *never_secrets(),
    ]


def cloudformation_policy(cfg: Config) -> PolicyDocument:
    """What the stacks create, for CloudFormation alone: prefix-scoped where the ARNs carry a name we
    choose, whole service namespaces where they do not (EC2, ECS, load balancers, CloudFront, ...)."""
    s, p = scopes(cfg), cfg.prefix
    return _doc(
        Statement(Sid="StackParameters", Effect=Allow, Action=[Action("ssm", "*")], Resource=s["parameters"]),
        Statement(Sid="Repositories", Effect=Allow, Action=[Action("ecr", "*")], Resource=s["repositories"]),
        Statement(Sid="PassStackRoles", Effect=Allow, Action=[Action("iam", "PassRole")],
                  Resource=[Sub(f"{ARN}:iam::{ACCOUNT}:role/{p}-*")],
                  Condition=Condition(StringEquals({"iam:PassedToService": list(PASSED_TO)}))),
        Statement(Sid="StackRoles", Effect=Allow, Action=_actions(
            "iam", "CreateRole", "DeleteRole", "GetRole", "UpdateRole", "UpdateAssumeRolePolicy", "PutRolePolicy",
            "GetRolePolicy", "DeleteRolePolicy", "AttachRolePolicy", "DetachRolePolicy", "ListRolePolicies",
            "ListAttachedRolePolicies", "TagRole", "UntagRole", "ListRoleTags"),
                  Resource=[Sub(f"{ARN}:iam::{ACCOUNT}:role/{p}-*")]),
        Statement(Sid="InstanceProfiles", Effect=Allow, Action=_actions(
            "iam", "CreateInstanceProfile", "DeleteInstanceProfile", "GetInstanceProfile", "AddRoleToInstanceProfile",
            "RemoveRoleFromInstanceProfile", "TagInstanceProfile", "UntagInstanceProfile"),
                  Resource=[Sub(f"{ARN}:iam::{ACCOUNT}:instance-profile/{p}-*")]),
        Statement(Sid="ServiceLinkedRoles", Effect=Allow, Action=[Action("iam", "CreateServiceLinkedRole")],
                  Resource=[Sub(f"{ARN}:iam::{ACCOUNT}:role/aws-service-role/*")]),
        Statement(Sid="StackBuckets", Effect=Allow, Action=[Action("s3", "*")],
                  Resource=[Sub(f"{ARN}:s3:::{p}-*"), Sub(f"{ARN}:s3:::{p}-*/*")]),
        Statement(Sid="LogsAndTopics", Effect=Allow, Action=[Action("logs", "*"), Action("sns", "*")],
                  Resource=[Sub(f"{ARN}:logs:*:{ACCOUNT}:log-group:/ecs/{p}/*"),
                            Sub(f"{ARN}:logs:*:{ACCOUNT}:log-group:/{p}/*"),
                            Sub(f"{ARN}:sns:*:{ACCOUNT}:{p}-*")]),
        # Dynamic references ({{resolve:secretsmanager:<prefix>/...}}) are resolved with this role.
        Statement(Sid="ResolveOwnSecrets", Effect=Allow, Action=[Action("secretsmanager", "GetSecretValue"),
                                                                 Action("secretsmanager", "DescribeSecret")],
                  Resource=[Sub(f"{ARN}:secretsmanager:*:{ACCOUNT}:secret:{p}/*")]),
        # A service whose agent tools name "browser" gets a Nova Act workflow definition (<prefix>-<service>).
        Statement(Sid="BrowserWorkflows", Effect=Allow, Action=[Action("nova-act", "*")],
                  Resource=[Sub(f"{ARN}:nova-act:*:{ACCOUNT}:workflow-definition/{p}-*")]),
        Statement(Sid="StackResources", Effect=Allow, Action=[Action(n, "*") for n in BROAD_NAMESPACES],
                  Resource=["*"]),
        # The pipelines' own identity is an administrator's: CloudFormation may not change it either.
        Statement(Sid="NotTheCiRoles", Effect=Deny, Action=[Action("iam", "*")],
                  Resource=[_role_arn(p, kind) for kind in ("plan", "deploy", "cloudformation")]),
        Statement(Sid="NotTheCiParameters", Effect=Deny, Action=_actions("ssm", *PARAMETER_WRITES),
                  Resource=[Sub(f"{ARN}:ssm:*:{ACCOUNT}:parameter{ci_param(p, '*')}")]),
    )
