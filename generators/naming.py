"""Every name two stacks (or a stack and the pipeline) must agree on, defined once.

The foundation writes these SSM paths as AWS::SSM::Parameter resources; application stacks
read them as AWS::SSM::Parameter::Value<...> template parameters whose Default is the path.
The deploy order is derived from that contract (generators/contract.py), never listed by hand.
"""

from __future__ import annotations

import hashlib

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
    # Set from [services.agent] (generators/agent_resources.py).
    "AGENT_TOOLS", "AGENT_FETCH_ALLOWED_HOSTS", "AGENT_MAX_TOOL_CALLS", "AGENT_TOOL_TIMEOUT_SECONDS",
    "AGENT_TOOL_OUTPUT_CHARS", "SESSION_BUCKET", "SESSION_PREFIX",
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
# Written beside it by `--publish SERVICE` (never read by a template): the digest the tag named when pushed.
IMAGE_DIGEST_KEY = "image-digest"


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


# --- the `edge` stack (WAF web ACL, always in us-east-1) and the public-alb origin secret ----------

# CloudFront-scoped WAF resources exist only in us-east-1; the deployer copies what such a stack
# writes into the environment's region, so readers there resolve it like any other parameter.
EDGE_REGION = "us-east-1"
ORIGIN_SECRET_HEADER = "X-Origin-Verify"
# Written by `deploy.py` (first public-alb deploy, --rotate-origin-secret), never by CloudFormation:
# each holds a Secrets Manager version id, so a rotation is a new change set, not a template change.
ORIGIN_SECRET_KEYS = ("origin-secret-alb-version", "origin-secret-cloudfront-version")


def edge_param(prefix: str, key: str) -> str:
    return f"/{prefix}/edge/{key}"


def origin_secret_name(prefix: str) -> str:
    return f"{prefix}/edge/origin-secret"


def is_origin_secret_param(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in ORIGIN_SECRET_KEYS


def is_deployer_param(path: str) -> bool:
    """Parameters deploy.py writes itself (image tags, origin-secret versions): no stack does."""
    return is_image_tag_param(path) or is_origin_secret_param(path)


# The `ci` stack (generators/ci.py): deployed only when named (`--stack ci`), never by `--stack all`:
# it is the pipelines' own identity, changed by an administrator, not by the pipelines.
EXPLICIT_STACKS = ("ci",)
CI_ROLE_KEYS = ("plan-role-arn", "deploy-role-arn")  # /<prefix>/ci/<key>, printed after --stack ci
# /<prefix>/ci/<key>: the role deploy.py names as RoleARN of its change sets when the ci stack exists.
CLOUDFORMATION_ROLE_KEY = "cloudformation-role-arn"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"


def ci_param(prefix: str, key: str) -> str:
    return f"/{prefix}/ci/{key}"


def ci_role_name(prefix: str, role: str) -> str:
    """`<prefix>-ci-plan` / `<prefix>-ci-deploy`: named, so the deploy role can be denied changes to them."""
    return f"{prefix}-ci-{role}"


def artifacts_bucket(prefix: str, account: str, region: str) -> str:
    """Where templates over CloudFormation's 51,200-byte body limit go, in the shared global namespace
    (S3 names: 63 characters at most): the fallback where the account-regional namespace is not offered."""
    return f"{prefix}-cfn-{account}-{region}"[:63]


# S3's account-regional namespace: names ending -<account>-<region>-an that only that account can
# create. Offered in every region but these two (S3 user guide, "Namespaces for general purpose buckets").
NO_ACCOUNT_NAMESPACE = frozenset({"me-south-1", "me-central-1"})


def regional_artifacts_bucket(prefix: str, account: str, region: str) -> str | None:
    """The artifacts bucket in the account-regional namespace, or None where S3 does not offer it."""
    if region in NO_ACCOUNT_NAMESPACE:
        return None
    return f"{regional_artifacts_base(prefix)}-{account}-{region}-an"


def regional_artifacts_base(prefix: str) -> str:
    """`<prefix>-cfn`, cut to fit 63 characters with the longest suffix (-<12 digits>-<14-character
    region>-an) and kept unique by a hash of itself: the same in every region, so IAM can name it."""
    base, room = f"{prefix}-cfn", 63 - len("-123456789012-ap-southeast-1-an")
    if len(base) <= room:
        return base
    return base[:room - 9].rstrip("-") + "-" + hashlib.sha256(base.encode()).hexdigest()[:8]


# Key prefix of templates uploaded by --plan: the deploy role cannot read it, so a pull request's
# plan job can never place a template that a deployment then uses.
PLAN_UPLOAD_PREFIX = "plan/"


# --- deployment alarms (issue 11) -------------------------------------------------------------------
ALARM_KINDS = ("5xx-count", "5xx-rate", "p99-latency", "unhealthy-hosts")


def alarm_names(prefix: str, service: str) -> list[str]:
    """The service stack's alarm names: --status and the deploy's rollback report look them up."""
    return [f"{prefix}-{service}-{kind}" for kind in ALARM_KINDS]
