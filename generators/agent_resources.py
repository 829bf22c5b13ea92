"""The session bucket of a service with `[services.agent]`, and what its task role may do there.

Sessions are conversation state (strands' S3SessionManager): encrypted, never public, reached
only over TLS, expired after `session_ttl_days`. The task role reaches the session prefix only.
"""

from __future__ import annotations

from awacs import s3 as s3_actions
from awacs.aws import Allow, Bool, Condition, Deny, Policy, Principal, Statement, StringLike
from troposphere import GetAtt, Ref, Sub, Template, s3
from troposphere.iam import Policy as RolePolicy

from .agent_config import agent_environment
from .common import checkov_skip
from .config import Config, ServiceSpec

# The key prefix under which the service writes sessions (SESSION_PREFIX in the container).
SESSION_PREFIX = "sessions"
BUCKET_ID = "SessionBucket"


def add_session_bucket(t: Template, cfg: Config, svc: ServiceSpec) -> s3.Bucket | None:
    """The bucket and its TLS-only policy, for a service with an agent table; None otherwise."""
    if svc.agent is None:
        return None
    bucket = t.add_resource(session_bucket(svc.agent.session_ttl_days))
    t.add_resource(tls_only_policy(bucket))
    return bucket


def session_bucket(ttl_days: int) -> s3.Bucket:
    bucket = s3.Bucket(
        BUCKET_ID,
        # CloudFormation cannot delete a bucket that still holds objects, and a failed stack deletion
        # is worse than a leftover bucket whose objects expire anyway: the bucket outlives its stack
        # (its name is generated, so a new stack makes a new one). A failed first create removes it.
        DeletionPolicy="RetainExceptOnCreate", UpdateReplacePolicy="Retain",
        BucketEncryption=s3.BucketEncryption(ServerSideEncryptionConfiguration=[s3.ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"),
            BucketKeyEnabled=True)]),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-sessions", Status="Enabled", Prefix=f"{SESSION_PREFIX}/",
            ExpirationInDays=ttl_days,
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1))]),
    )
    return checkov_skip(
        bucket,
        ("CKV_AWS_18", "Session state written only by the service's task role; CloudTrail data events can log "
                       "access where an account requires it, without a second bucket per service"),
        ("CKV_AWS_145", "SSE-S3: the state is the service's own and expires; a customer KMS key adds cost and "
                        "key-policy coupling"),
        ("CKV2_AWS_62", "No consumer of object events: the service reads its sessions itself"),
        ("CKV_AWS_144", "Disposable, expiring state: no cross-region replica"),
        ("CKV_AWS_21", "Disposable, expiring state: no old versions to keep (and none to empty on teardown)"),
    )


def tls_only_policy(bucket: s3.Bucket) -> s3.BucketPolicy:
    document = Policy(Version="2012-10-17", Statement=[Statement(
        Sid="DenyPlainHttp", Effect=Deny, Principal=Principal("*"), Action=[s3_actions.Action("*")],
        Resource=[GetAtt(bucket, "Arn"), Sub(f"${{{BUCKET_ID}.Arn}}/*")],
        Condition=Condition(Bool({"aws:SecureTransport": "false"})),
    )])
    return s3.BucketPolicy("SessionBucketPolicy", Bucket=Ref(bucket), PolicyDocument=document)


def session_access_policy(bucket: s3.Bucket) -> RolePolicy:
    """Objects under sessions/ only; listing only with a sessions/ prefix."""
    objects = Sub(f"${{{BUCKET_ID}.Arn}}/{SESSION_PREFIX}/*")
    return RolePolicy(PolicyName="agent-sessions", PolicyDocument=Policy(Version="2012-10-17", Statement=[
        Statement(Sid="SessionObjects", Effect=Allow,
                  Action=[s3_actions.GetObject, s3_actions.PutObject, s3_actions.DeleteObject],
                  Resource=[objects]),
        Statement(Sid="ListSessions", Effect=Allow, Action=[s3_actions.ListBucket],
                  Resource=[GetAtt(bucket, "Arn")],
                  Condition=Condition(StringLike({"s3:prefix": [f"{SESSION_PREFIX}/*"]}))),
    ]))


def agent_container_environment(svc: ServiceSpec, bucket: s3.Bucket | None) -> dict[str, object]:
    if svc.agent is None:
        return {}
    env: dict[str, object] = {**agent_environment(svc.agent), "SESSION_PREFIX": SESSION_PREFIX}
    if bucket is not None:
        env["SESSION_BUCKET"] = Ref(bucket)
    return env
