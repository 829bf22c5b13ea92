"""The `ci` stack: what the GitHub pipelines of one environment run as.

The GitHub OIDC provider (unless [ci] names an existing one: one per URL and account), a plan
role for pull-request jobs in GitHub environment `<env>-plan` and a deploy role for jobs in `<env>`,
each trusting only tokens whose `sub` names the repository and that environment. Their ARNs are
published under /<prefix>/ci/ for `deploy.py --stack ci` to print.

The plan role reads and proposes: it can create change sets but never execute one, never write
SSM, push images or pass roles, and reads no SecureString or secret (explicitly denied). The deploy role can
do what a deployment needs. CloudFormation creates resources with the caller's permissions, so
that is a lot: prefix-scoped where the resource ARNs carry a name we choose, whole service
namespaces where they do not (EC2, ECS, load balancers, CloudFront, ...).
"""

from __future__ import annotations

from awacs.aws import (
    Action,
    Allow,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, Output, Ref, Sub, Template
from troposphere.iam import OIDCProvider, Policy, Role

from .common import checkov_skip, ssm_output
from .config import Config
from .naming import GITHUB_OIDC_HOST, ci_param, ci_role_name, regional_artifacts_base

ARN = "arn:${AWS::Partition}"
ACCOUNT = "${AWS::AccountId}"
# Services whose resources the stacks create and whose ARNs carry no name we choose (ids made up by
# AWS): the deploy role gets the namespace, as CloudFormation acts with the caller's permissions.
BROAD_NAMESPACES = ("ec2", "ecs", "elasticloadbalancing", "application-autoscaling", "autoscaling", "cloudfront",
                    "cloudwatch", "cognito-idp", "kms", "route53", "budgets", "wafv2", "acm")
# Roles the stacks create are handed to these services only (task and execution roles, the NAT instance).
PASSED_TO = ("ecs-tasks.amazonaws.com", "ec2.amazonaws.com")
PLAN_READS = ("CreateChangeSet", "DescribeChangeSet", "DeleteChangeSet", "ListChangeSets", "DescribeStacks",
              "DescribeStackEvents", "DescribeStackResources", "ListStackResources", "GetTemplate",
              "GetTemplateSummary")

PLAN_DENIED = (Action("kms", "Decrypt"), Action("secretsmanager", "GetSecretValue"),
               Action("cloudformation", "ExecuteChangeSet"), Action("ssm", "PutParameter"),
               Action("ssm", "DeleteParameter"), Action("ecr", "PutImage"), Action("ecr", "InitiateLayerUpload"),
               Action("iam", "PassRole"))


def build_ci(cfg: Config) -> Template:
    assert cfg.ci is not None  # synth lists this stack only when [ci] is configured
    t = Template(Description=f"{cfg.prefix} ci: GitHub OIDC trust, plan and deploy roles for {cfg.ci.repository}")
    provider = oidc_provider_arn(t, cfg)
    plan = t.add_resource(role(cfg, "plan", provider, f"{cfg.env.name}-plan", plan_policy(cfg)))
    deploy = t.add_resource(role(cfg, "deploy", provider, cfg.env.name, deploy_policy(cfg)))
    for key, res in (("plan-role-arn", plan), ("deploy-role-arn", deploy)):
        ssm_output(t, ci_param(cfg.prefix, key), GetAtt(res, "Arn"), f"GitHub variable for {res.title}")
    t.add_output(Output("PlanRoleArn", Description="AWS_PLAN_ROLE_ARN", Value=GetAtt(plan, "Arn")))
    t.add_output(Output("DeployRoleArn", Description="AWS_DEPLOY_ROLE_ARN", Value=GetAtt(deploy, "Arn")))
    return t


def oidc_provider_arn(t: Template, cfg: Config) -> object:
    assert cfg.ci is not None
    if cfg.ci.oidc_provider_arn:
        return cfg.ci.oidc_provider_arn
    # No ThumbprintList: IAM trusts GitHub's certificate authority itself for this host.
    return Ref(t.add_resource(OIDCProvider(
        "GitHubOidcProvider", Url=f"https://{GITHUB_OIDC_HOST}", ClientIdList=["sts.amazonaws.com"])))


def role(cfg: Config, kind: str, provider: object, environment: str, policy: PolicyDocument) -> Role:
    assert cfg.ci is not None
    trust = PolicyDocument(Version="2012-10-17", Statement=[Statement(
        Effect=Allow, Principal=Principal("Federated", provider),
        Action=[Action("sts", "AssumeRoleWithWebIdentity")],
        # `sub` pins repository and GitHub environment; the environment's deployment-branch policy
        # (README) is what keeps `<env>` jobs on the default branch: the claim names no branch.
        Condition=Condition([StringEquals({f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
                                           f"{GITHUB_OIDC_HOST}:sub": cfg.ci.subject(environment)})]),
    )])
    res = Role(f"{kind.capitalize()}Role", RoleName=ci_role_name(cfg.prefix, kind), MaxSessionDuration=3600,
               Description=f"GitHub Actions of {cfg.ci.repository}, environment {environment}: {kind}",
               AssumeRolePolicyDocument=trust, Policies=[Policy(PolicyName=f"{kind}-{cfg.prefix}",
                                                               PolicyDocument=policy)])
    if kind == "deploy":
        checkov_skip(res, ("CKV_AWS_111", "CloudFormation creates the stacks' EC2/ECS/ELB/CloudFront/... resources "
                                          "with this role's permissions; their ARNs are AWS-made ids"),
                     ("CKV_AWS_109", "the stacks' KMS key policies are written by CloudFormation as this role"),
                     ("CKV_AWS_107", "ecr:GetAuthorizationToken accepts only Resource \"*\" (image push)"))
    return res


def _doc(*statements: Statement) -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=list(statements))


def _actions(service: str, *names: str) -> list[Action]:
    return [Action(service, n) for n in names]


def scopes(cfg: Config) -> dict[str, list[Sub]]:
    """The environment's own resources, by prefix: stacks, parameters, repositories, artifacts bucket."""
    p = cfg.prefix
    return {
        # Any region: the edge stack lives in us-east-1 and copies its SSM outputs home.
        "stacks": [Sub(f"{ARN}:cloudformation:*:{ACCOUNT}:stack/{p}-*/*"),
                   Sub(f"{ARN}:cloudformation:*:{ACCOUNT}:changeSet/*/*")],
        "parameters": [Sub(f"{ARN}:ssm:*:{ACCOUNT}:parameter/{p}/*")],
        "repositories": [Sub(f"{ARN}:ecr:${{AWS::Region}}:{ACCOUNT}:repository/{p}/*")],
        # The account-regional name (<base>-<account>-<region>-an) and the global fallback (<prefix>-cfn-...).
        "bucket": [Sub(f"{ARN}:s3:::{b}-*") for b in dict.fromkeys((regional_artifacts_base(p), f"{p}-cfn"))],
    }


def plan_policy(cfg: Config) -> PolicyDocument:
    s = scopes(cfg)
    bucket = s["bucket"][0].data["Fn::Sub"]
    return _doc(
        Statement(Sid="ProposeChangeSets", Effect=Allow, Action=_actions("cloudformation", *PLAN_READS),
                  Resource=s["stacks"]),
        Statement(Sid="ListImages", Effect=Allow, Action=_actions("ecr", "DescribeImages", "ListImages",
                                                                  "DescribeRepositories"),
                  Resource=s["repositories"]),
        Statement(Sid="ReadParameters", Effect=Allow,
                  Action=_actions("ssm", "GetParameter", "GetParameters", "GetParameterHistory"),
                  Resource=s["parameters"]),
        Statement(Sid="UploadPlanTemplates", Effect=Allow, Action=_actions("s3", "PutObject", "GetObject"),
                  Resource=[Sub(f"{bucket}/plan/*")], Condition=_own_account()),
        Statement(Sid="CheckArtifactsBucket", Effect=Allow, Action=_actions("s3", "ListBucket", "GetBucketVersioning"),
                  Resource=s["bucket"], Condition=_own_account()),
        # Both accept only Resource "*": who am I, and which buckets are mine (the ownership check).
        Statement(Sid="Identity", Effect=Allow, Action=[Action("sts", "GetCallerIdentity"),
                                                        Action("s3", "ListAllMyBuckets")], Resource=["*"]),
        # Not granting kms:Decrypt is not enough: the AWS managed aws/ssm key's policy lets every principal
        # of the account that may read a parameter decrypt it through SSM, so a SecureString under
        # /<prefix>/ would be readable by a pull request. Only an explicit Deny keeps it (and secrets) out;
        # the changes this role must never make are denied too, so a policy attached later cannot grant them.
        Statement(Sid="NeverSecretsOrChanges", Effect=Deny, Action=list(PLAN_DENIED), Resource=["*"]),
    )


def _own_account() -> Condition:
    # The bucket name is predictable: a bucket of that name in another account is never used.
    return Condition(StringEquals({"s3:ResourceAccount": Sub(ACCOUNT)}))


def deploy_policy(cfg: Config) -> PolicyDocument:
    s, p = scopes(cfg), cfg.prefix
    bucket = s["bucket"][0].data["Fn::Sub"]
    return _doc(
        Statement(Sid="OwnStacks", Effect=Allow, Action=[Action("cloudformation", "*")], Resource=s["stacks"]),
        Statement(Sid="OwnParameters", Effect=Allow, Action=[Action("ssm", "*")], Resource=s["parameters"]),
        Statement(Sid="OwnRepositories", Effect=Allow, Action=[Action("ecr", "*")], Resource=s["repositories"]),
        # ecr:GetAuthorizationToken is account-wide: IAM accepts no resource but "*" for it.
        Statement(Sid="EcrLogin", Effect=Allow, Action=[Action("ecr", "GetAuthorizationToken"),
                                                        Action("sts", "GetCallerIdentity"),
                                                        Action("s3", "ListAllMyBuckets")], Resource=["*"]),
        Statement(Sid="PassOwnRoles", Effect=Allow, Action=[Action("iam", "PassRole")],
                  Resource=[Sub(f"{ARN}:iam::{ACCOUNT}:role/{p}-*")],
                  Condition=Condition(StringEquals({"iam:PassedToService": list(PASSED_TO)}))),
        Statement(Sid="OwnRoles", Effect=Allow, Action=_actions(
            "iam", "CreateRole", "DeleteRole", "GetRole", "UpdateRole", "UpdateAssumeRolePolicy", "PutRolePolicy",
            "GetRolePolicy", "DeleteRolePolicy", "AttachRolePolicy", "DetachRolePolicy", "ListRolePolicies",
            "ListAttachedRolePolicies", "TagRole", "UntagRole", "ListRoleTags"),
                  Resource=[Sub(f"{ARN}:iam::{ACCOUNT}:role/{p}-*")]),
        Statement(Sid="OwnInstanceProfiles", Effect=Allow, Action=_actions(
            "iam", "CreateInstanceProfile", "DeleteInstanceProfile", "GetInstanceProfile", "AddRoleToInstanceProfile",
            "RemoveRoleFromInstanceProfile", "TagInstanceProfile", "UntagInstanceProfile"),
                  Resource=[Sub(f"{ARN}:iam::{ACCOUNT}:instance-profile/{p}-*")]),
        Statement(Sid="ServiceLinkedRoles", Effect=Allow, Action=[Action("iam", "CreateServiceLinkedRole")],
                  Resource=[Sub(f"{ARN}:iam::{ACCOUNT}:role/aws-service-role/*")]),
        Statement(Sid="ArtifactsBucket", Effect=Allow, Action=_actions(
            "s3", "CreateBucket", "ListBucket", "PutBucketPolicy", "PutBucketVersioning", "PutLifecycleConfiguration",
            "PutEncryptionConfiguration", "PutBucketPublicAccessBlock", "GetBucketPolicy", "GetBucketVersioning"),
                  Resource=s["bucket"]),
        # Deployments read only what deployments wrote (<stack name>/...), never plan/.
        Statement(Sid="ArtifactsTemplates", Effect=Allow, Action=_actions("s3", "PutObject", "GetObject"),
                  Resource=[Sub(f"{bucket}/{p}-*")], Condition=_own_account()),
        Statement(Sid="OwnBucketsAndSite", Effect=Allow, Action=[Action("s3", "*")],
                  Resource=[Sub(f"{ARN}:s3:::{p}-*"), Sub(f"{ARN}:s3:::{p}-*/*")]),
        Statement(Sid="OwnLogsAndTopics", Effect=Allow, Action=[Action("logs", "*"), Action("sns", "*")],
                  Resource=[Sub(f"{ARN}:logs:*:{ACCOUNT}:log-group:/ecs/{p}/*"),
                            Sub(f"{ARN}:logs:*:{ACCOUNT}:log-group:/{p}/*"),
                            Sub(f"{ARN}:sns:*:{ACCOUNT}:{p}-*")]),
        Statement(Sid="StackResources", Effect=Allow, Action=[Action(n, "*") for n in BROAD_NAMESPACES],
                  Resource=["*"]),
        # The pipelines must not widen their own identity: the ci stack and its roles are an administrator's.
        Statement(Sid="NotTheCiStack", Effect=Deny, Action=[Action("cloudformation", "*"), Action("iam", "*")],
                  Resource=[Sub(f"{ARN}:cloudformation:*:{ACCOUNT}:stack/{p}-ci/*"),
                            Sub(f"{ARN}:iam::{ACCOUNT}:role/{ci_role_name(p, 'plan')}"),
                            Sub(f"{ARN}:iam::{ACCOUNT}:role/{ci_role_name(p, 'deploy')}")]),
        # Plans are uploaded by pull-request jobs: a deployment never reads one (s3:* above would allow it).
        Statement(Sid="NeverPlanUploads", Effect=Deny, Action=[Action("s3", "GetObject")],
                  Resource=[Sub(f"{bucket}/plan/*")]),
        Statement(Sid="NotTheCiParameters", Effect=Deny, Action=[Action("ssm", "*")],
                  Resource=[Sub(f"{ARN}:ssm:*:{ACCOUNT}:parameter{ci_param(p, '*')}")]),
    )
