"""Every name two stacks (or a stack and the pipeline) must agree on, defined once.

The foundation writes these SSM paths as AWS::SSM::Parameter resources; application stacks
read them as AWS::SSM::Parameter::Value<...> template parameters whose Default is the path.
The deploy order is derived from that contract (generators/contract.py), never listed by hand.
"""

from __future__ import annotations

FOUNDATION_STACKS = ("infrastructure", "registry")
# Stack names of the platform itself: no service may take one (its stack would collide).
RESERVED_NAMES = ("all", "infrastructure", "registry", "frontend", "auth", "alerts", "edge", "ci")

# Stack names the platform itself uses (and `all`, the CLI's word for every stack): a service
# named like one would overwrite that stack's template or silently get no stack of its own.
RESERVED_NAMES = ("all", "infrastructure", "registry", "frontend", "auth", "alerts", "edge", "ci")

# Container variables the service templates set themselves; a service's `environment` table
# must not set them (it would silently override, or be overridden by, the platform's value).
RESERVED_ENV_VARS = (
    "PORT", "SERVICE_NAME", "ENVIRONMENT", "IMAGE_TAG", "BEDROCK_MODEL_ID", "BEDROCK_REGION",
    "AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_JWKS_URL", "AUTH_DISABLED", "MAX_BODY_BYTES",
    "BEDROCK_MAX_INPUT_CHARS", "BEDROCK_MAX_MESSAGES", "MAX_STREAMS_PER_USER", "DOCS_ENABLED",
)
# ...and the prefixes of the variables AWS sets in every task (credentials, metadata endpoints).
RESERVED_ENV_PREFIXES = ("AWS_", "ECS_")

# The network values the infrastructure stack publishes: the platform's naming table.
NETWORK_KEYS = (
    "vpc-id",
    "vpc-cidr",
    "alb-arn",
    "alb-dns-name",
    "alb-security-group-id",
    "alb-listener-arn",
    "ecs-cluster-name",
    "ecs-cluster-arn",
    "private-subnet-ids",
    "public-subnet-ids",
    "availability-zones",
)
# THE listener service rules attach to, whatever the edge mode (HTTP:80 without a domain, HTTPS:443
# with one): service stacks never need to know how CloudFront reaches the load balancer.
LISTENER_KEY = "alb-listener-arn"
LIST_KEYS = frozenset({"private-subnet-ids", "public-subnet-ids", "availability-zones"})

REPOSITORY_URI_KEY = "repository-uri"
# Written by `deploy.py --publish` / `--set-image-tag` after a push, never by CloudFormation:
# a new tag must not need a template change, only a new change set.
IMAGE_TAG_KEY = "image-tag"
# ...with the image's digest in the parameter's Description ("image <repository>@sha256:..."): each
# version in the parameter's history names the exact image its tag meant when it was written.
IMAGE_DIGEST_NOTE = "image "


# Written by the `auth` stack (Cognito or an external OIDC issuer), read by the services and the site.
AUTH_KEYS = ("issuer", "audience", "client-id", "authorize-url", "token-url")
# Written by the `alerts` stack: the environment's notification topic, for every alarm to reuse.
ALERTS_TOPIC_KEY = "topic-arn"
SITE_URL_KEY = "url"  # /<prefix>/frontend/url, written by the frontend stack


def stack_name(prefix: str, stack: str) -> str:
    return f"{prefix}-{stack}"


def network_param(prefix: str, key: str) -> str:
    return f"/{prefix}/network/{key}"


def service_param(prefix: str, service: str, key: str) -> str:
    return f"/{prefix}/{service}/{key}"


def repository_name(prefix: str, service: str) -> str:
    return f"{prefix}/{service}"


def log_group_name(prefix: str, service: str) -> str:
    return f"/ecs/{prefix}/{service}"


def is_image_tag_param(path: str) -> bool:
    return path.rsplit("/", 1)[-1] == IMAGE_TAG_KEY


def auth_param(prefix: str, key: str) -> str:
    return f"/{prefix}/auth/{key}"


def alerts_param(prefix: str, key: str) -> str:
    return f"/{prefix}/alerts/{key}"


# --- CI identity (the `ci` stack) -----------------------------------------------------------------
CI_STACK = "ci"
# Stacks deployed only when named (`--stack ci`): `--stack all` never selects them. The ci stack holds
# the roles the pipelines run as; an administrator changes it, never a pipeline.
EXPLICIT_ONLY_STACKS = (CI_STACK,)
CI_PLAN_ROLE_KEY = "plan-role-arn"  # /<prefix>/ci/plan-role-arn
CI_DEPLOY_ROLE_KEY = "deploy-role-arn"  # /<prefix>/ci/deploy-role-arn
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
# Oversized templates: a --plan uploads under PLAN_ARTIFACTS (the plan role may write nothing else),
# a deployment under DEPLOY_ARTIFACTS, and never reads what a plan left there.
PLAN_ARTIFACTS = "plan"
DEPLOY_ARTIFACTS = "deploy"
# S3 offers the account-regional bucket namespace (names ending -<account>-<region>-an, which only that
# account can create) in every region but these two, per the S3 user guide ("Namespaces for general
# purpose buckets"); there the name is global and the deployer's ownership check is the only guard.
NO_ACCOUNT_NAMESPACE = frozenset({"me-south-1", "me-central-1"})
ACCOUNT_ID_PLACEHOLDER = "${AWS::AccountId}"  # inside a template: Sub fills it in


def ci_param(prefix: str, key: str) -> str:
    return f"/{prefix}/ci/{key}"


def ci_role_name(prefix: str, kind: str) -> str:
    """`<prefix>-ci-plan` / `<prefix>-ci-deploy`: fixed, so the roles the stacks create can be told apart."""
    return f"{prefix}-ci-{kind}"


def artifacts_bucket(prefix: str, region: str, account: str = ACCOUNT_ID_PLACEHOLDER) -> str:
    """The bucket for templates over CloudFormation's body limit, in the account-regional namespace
    where S3 has one. At most 63 characters with a 12-digit account id: a long prefix is shortened
    and made unique again with a hash of itself."""
    import hashlib

    suffix = f"-{region}" + ("" if region in NO_ACCOUNT_NAMESPACE else "-an")
    base, room = f"{prefix}-cfn", 63 - 13 - len(suffix)
    if len(base) > room:
        base = base[:room - 9].rstrip("-") + "-" + hashlib.sha256(base.encode()).hexdigest()[:8]
    return f"{base}-{account}{suffix}"


def uses_account_namespace(region: str) -> bool:
    return region not in NO_ACCOUNT_NAMESPACE
