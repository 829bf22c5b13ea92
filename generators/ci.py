"""The `ci` stack: what the pipelines run as, per environment, deployed once by an administrator.

GitHub Actions jobs get AWS credentials only by exchanging their OIDC token for one of two roles,
whose trust policies pin the repository and the GitHub environment in the token's `sub`:

- the **plan role** (`environment:<env>-plan`, where pull requests run their own code): read the
  stacks, create and delete change sets, read String parameters and image lists, upload oversized
  templates under the artifacts bucket's plan prefix. It can neither execute a change set, write
  SSM, push an image, pass a role nor decrypt anything, and says so in an explicit Deny.
- the **deploy role** (`environment:<env>`, whose deployment-branch policy admits the default
  branch only): what a deployment needs, on the environment's own names (stacks `<prefix>-*`,
  parameters `/<prefix>/*`, repositories `<prefix>/*`, roles `<prefix>-*` and their passing to
  the services that run them). The resource types whose ARNs carry no name of ours (subnets, load
  balancers, distributions...) are allowed only through CloudFormation (`aws:CalledVia`), which
  itself may only touch `<prefix>-*` stacks; the ci stack and its roles are denied to it.

The roles' ARNs are published under /<prefix>/ci/ and as outputs; deploy.py prints them.
"""

from __future__ import annotations

from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRoleWithWebIdentity
from troposphere import GetAtt, Output, Ref, Sub, Template
from troposphere import iam as tiam

from .ci_policies import deploy_policy, plan_policy
from .common import ssm_output
from .config import Config
from .naming import CI_DEPLOY_ROLE_KEY, CI_PLAN_ROLE_KEY, GITHUB_OIDC_HOST, ci_param, ci_role_name

AUDIENCE = "sts.amazonaws.com"
# GitHub's intermediate certificate thumbprints. IAM no longer checks them for this provider (it
# trusts GitHub's root CAs), but older partitions still want at least one.
THUMBPRINTS = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
def build_ci(cfg: Config) -> Template:
    assert cfg.ci is not None, "synth adds the ci stack only with a [ci] table"
    t = Template(Description=f"{cfg.prefix} ci: GitHub OIDC plan and deploy roles for {cfg.env.name} "
                             f"({cfg.ci.repository})")
    provider = oidc_provider(t, cfg)
    plan = t.add_resource(github_role(cfg, "plan", provider, plan_policy(cfg)))
    deploy = t.add_resource(github_role(cfg, "deploy", provider, deploy_policy(cfg)))
    for key, role, what in ((CI_PLAN_ROLE_KEY, plan, "plan"), (CI_DEPLOY_ROLE_KEY, deploy, "deploy")):
        ssm_output(t, ci_param(cfg.prefix, key), GetAtt(role, "Arn"),
                   f"{what} role for GitHub environment {_github_env(cfg, what)}: variable "
                   f"{'AWS_PLAN_ROLE_ARN' if what == 'plan' else 'AWS_DEPLOY_ROLE_ARN'}")
        t.add_output(Output(f"{what.title()}RoleArn", Value=GetAtt(role, "Arn"),
                            Description=f"set as AWS_{what.upper()}_ROLE_ARN in GitHub environment "
                                        f"{_github_env(cfg, what)}"))
    return t


def oidc_provider(t: Template, cfg: Config) -> object:
    """The account's GitHub identity provider: created here, or an existing one by ARN."""
    assert cfg.ci is not None
    if cfg.ci.oidc_provider_arn:
        return cfg.ci.oidc_provider_arn
    if not cfg.ci.creates_provider:  # another environment's ci stack in this account creates it
        return Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{GITHUB_OIDC_HOST}")
    provider = t.add_resource(tiam.OIDCProvider(
        "GitHubOidcProvider", Url=f"https://{GITHUB_OIDC_HOST}", ClientIdList=[AUDIENCE],
        ThumbprintList=THUMBPRINTS,
    ))
    t.add_output(Output("OidcProviderArn", Value=Ref(provider),
                        Description="GitHub OIDC provider of this account (oidc_provider_arn for other projects)"))
    return Ref(provider)


def _github_env(cfg: Config, kind: str) -> str:
    return f"{cfg.env.name}-plan" if kind == "plan" else cfg.env.name


def github_role(cfg: Config, kind: str, provider: object, policy: PolicyDocument) -> tiam.Role:
    """A role only a job of this repository in GitHub environment <env>(-plan) can assume."""
    assert cfg.ci is not None
    claim = f"{GITHUB_OIDC_HOST}:"
    trust = PolicyDocument(Version="2012-10-17", Statement=[Statement(
        Effect=Allow, Principal=Principal("Federated", provider), Action=[AssumeRoleWithWebIdentity],
        Condition=Condition(StringEquals({
            claim + "aud": AUDIENCE,
            claim + "sub": f"repo:{cfg.ci.repository}:environment:{_github_env(cfg, kind)}",
        })),
    )])
    return tiam.Role(
        f"{kind.title()}Role", RoleName=ci_role_name(cfg.prefix, kind), AssumeRolePolicyDocument=trust,
        Description=f"GitHub Actions, {cfg.ci.repository}, environment {_github_env(cfg, kind)}",
        MaxSessionDuration=3600, Policies=[tiam.Policy(PolicyName=f"{kind}-{cfg.env.name}", PolicyDocument=policy)],
    )
