"""The `ci` stack: what the GitHub pipelines of one environment run as.

The GitHub OIDC provider (unless [ci] names an existing one: one per URL and account), a plan
role for pull-request jobs in GitHub environment `<env>-plan` and a deploy role for jobs in `<env>`,
each trusting only tokens whose `sub` names the repository and that environment. Their ARNs are
published under /<prefix>/ci/ for `deploy.py --stack ci` to print.

The plan role reads and proposes: it can create change sets but never execute one, never write
SSM, push images or pass roles, and reads no SecureString or secret (explicitly denied). The deploy
role does what deploy.py calls itself; what the stacks create is done by CloudFormation through a
third role only CloudFormation may assume (`<prefix>-ci-cloudformation`, its ARN under /<prefix>/ci/
for deploy.py to name in every change set it executes). The policies: generators/ci_policies.py.
"""

from __future__ import annotations

from awacs.aws import Action, Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Output, Ref, Template
from troposphere.iam import OIDCProvider, Policy, Role

from .ci_policies import cloudformation_policy, deploy_policy, plan_policy
from .common import checkov_skip, ssm_output
from .config import Config
from .naming import CLOUDFORMATION_ROLE_KEY, GITHUB_OIDC_HOST, ci_param, ci_role_name


def build_ci(cfg: Config) -> Template:
    assert cfg.ci is not None  # synth lists this stack only when [ci] is configured
    t = Template(Description=f"{cfg.prefix} ci: GitHub OIDC trust, plan and deploy roles for {cfg.ci.repository}")
    provider = oidc_provider_arn(t, cfg)
    plan = t.add_resource(role(cfg, "plan", provider, f"{cfg.env.name}-plan", plan_policy(cfg)))
    deploy = t.add_resource(role(cfg, "deploy", provider, cfg.env.name, deploy_policy(cfg)))
    cfn = t.add_resource(cloudformation_role(cfg))
    for key, res in (("plan-role-arn", plan), ("deploy-role-arn", deploy)):
        ssm_output(t, ci_param(cfg.prefix, key), GetAtt(res, "Arn"), f"GitHub variable for {res.title}")
    ssm_output(t, ci_param(cfg.prefix, CLOUDFORMATION_ROLE_KEY), GetAtt(cfn, "Arn"),
               "RoleARN of deploy.py's change sets")
    t.add_output(Output("PlanRoleArn", Description="AWS_PLAN_ROLE_ARN", Value=GetAtt(plan, "Arn")))
    t.add_output(Output("DeployRoleArn", Description="AWS_DEPLOY_ROLE_ARN", Value=GetAtt(deploy, "Arn")))
    t.add_output(Output("CloudFormationRoleArn", Description="RoleARN of deploy.py's change sets",
                        Value=GetAtt(cfn, "Arn")))
    return t


def cloudformation_role(cfg: Config) -> Role:
    """Assumable by CloudFormation alone: the pipelines reach its permissions only through change sets."""
    trust = PolicyDocument(Version="2012-10-17", Statement=[Statement(
        Effect=Allow, Principal=Principal("Service", "cloudformation.amazonaws.com"),
        Action=[Action("sts", "AssumeRole")])])
    res = Role("CloudFormationRole", RoleName=ci_role_name(cfg.prefix, "cloudformation"), MaxSessionDuration=3600,
               Description=f"CloudFormation, for the stacks of {cfg.prefix} (change sets of the deploy role)",
               AssumeRolePolicyDocument=trust,
               Policies=[Policy(PolicyName=f"cloudformation-{cfg.prefix}", PolicyDocument=cloudformation_policy(cfg))])
    return checkov_skip(res, ("CKV_AWS_111", "CloudFormation creates the stacks' EC2/ECS/ELB/CloudFront/... resources "
                                             "with this role; their ARNs are AWS-made ids"),
                        ("CKV_AWS_109", "the stacks' KMS key policies are written by CloudFormation as this role"),
                        ("CKV_AWS_107", "ec2:* (the stacks' network) includes ec2:GetPasswordData; only CloudFormation "
                                        "can assume this role"))


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
        checkov_skip(res, ("CKV_AWS_107", "ecr:GetAuthorizationToken accepts only Resource \"*\" (image push)"))
    return res
