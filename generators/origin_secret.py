"""`edge = "public-alb"`: CloudFront proves itself to the load balancer with a secret header.

The secret lives in Secrets Manager (`<prefix>/edge/origin-secret`, JSON {"current", "previous"});
templates hold only dynamic references to it, pinned to a version id that an SSM String parameter
holds and the stack reads as an SSM-typed parameter:

    {{resolve:secretsmanager:<name>:SecretString:current::${OriginSecretVersion}}}

Pinned, because CloudFormation compares the reference *string*: with no version id (or with
`ssm-secure`, which CloudFront and load-balancer properties do not accept at all) a rotated value
would never show up in a change set. Built with Fn::Sub, which CloudFormation resolves before the
dynamic reference, as in AWS's own RDS/DocumentDB rotation examples.

The load balancer's rules accept `current` and `previous` of the version the services read; CloudFront
sends `current` of the version the frontend reads. `deploy.py --rotate-origin-secret` moves those two
version ids one step at a time (deployer/commands/origin_secret.py), so traffic never sees a mismatch.
"""

from __future__ import annotations

from troposphere import Sub, Template
from troposphere import cloudfront as cf
from troposphere import elasticloadbalancingv2 as elb

from .common import ssm_input
from .config import Config
from .naming import ORIGIN_SECRET_HEADER, ORIGIN_SECRET_KEYS, edge_param, origin_secret_name

ALB_VERSION, CLOUDFRONT_VERSION = ORIGIN_SECRET_KEYS
VERSION_PARAMETER = "OriginSecretVersion"  # the template parameter, in service and frontend stacks alike
FORBIDDEN_BODY = '{"error":{"code":"forbidden","message":"Use the site\'s address, not the load balancer\'s"}}'


def enabled(cfg: Config) -> bool:
    return cfg.env.edge.mode == "public-alb"


def secret_ref(cfg: Config, version_parameter: str, key: str) -> Sub:
    """A dynamic reference to one JSON key of the secret, pinned to the version a template parameter names."""
    # Pinned to a version id on purpose: change sets compare this string, not the secret's value, so
    # only a new version id in the string makes a rotation show up as a change at all.
    return Sub(f"{{{{resolve:secretsmanager:{origin_secret_name(cfg.prefix)}:SecretString:{key}::"
               f"${{{version_parameter}}}}}}}")


def forbidden_action() -> elb.Action:
    """The listener's default: anything without the header (not from CloudFront) gets 403."""
    return elb.Action(Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(
        StatusCode="403", ContentType="application/json", MessageBody=FORBIDDEN_BODY))


def gate_listener_rule(t: Template, cfg: Config, rule: elb.ListenerRule) -> None:
    """A service's rule forwards only requests carrying the current or the previous secret."""
    if not enabled(cfg):
        return
    ssm_input(t, VERSION_PARAMETER, edge_param(cfg.prefix, ALB_VERSION))
    header = elb.Condition(Field="http-header", HttpHeaderConfig=elb.HttpHeaderConfig(
        HttpHeaderName=ORIGIN_SECRET_HEADER,
        # Two values (ORed); with at most three path patterns that stays within ALB's five per rule.
        Values=[secret_ref(cfg, VERSION_PARAMETER, "current"), secret_ref(cfg, VERSION_PARAMETER, "previous")],
    ))
    rule.Conditions = [*rule.Conditions, header]


def origin_headers(t: Template, cfg: Config) -> list[cf.OriginCustomHeader]:
    """CloudFront sends the current secret to the load balancer origin (none outside public-alb)."""
    if not enabled(cfg):
        return []
    ssm_input(t, VERSION_PARAMETER, edge_param(cfg.prefix, CLOUDFRONT_VERSION))
    return [cf.OriginCustomHeader(HeaderName=ORIGIN_SECRET_HEADER,
                                  HeaderValue=secret_ref(cfg, VERSION_PARAMETER, "current"))]
