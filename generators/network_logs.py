"""ALB access logs to S3 and VPC flow logs to CloudWatch Logs: per-environment switches
(`access_logs`, `flow_logs`), both kept for the environment's log_retention_days.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, Template, ec2, iam, logs, s3
from troposphere import elasticloadbalancingv2 as elb

from .common import checkov_skip
from .config import Config
from .elb_log_delivery import SERVICE_PRINCIPAL, delivery_principal


def add_access_logs(t: Template, cfg: Config, alb: elb.LoadBalancer) -> None:
    if not cfg.env.access_logs:
        checkov_skip(alb, ("CKV_AWS_91", "access_logs = false in this environment: no log bucket to pay for; "
                                         "request logs are also in the services' own JSON logs"))
        return
    bucket = t.add_resource(log_bucket(cfg))
    policy = t.add_resource(delivery_policy(cfg, bucket))
    alb.LoadBalancerAttributes = [*alb.LoadBalancerAttributes,
                                  elb.LoadBalancerAttributes(Key="access_logs.s3.enabled", Value="true"),
                                  elb.LoadBalancerAttributes(Key="access_logs.s3.bucket", Value=Ref(bucket))]
    # ELB writes a test object when logging is switched on: the policy must be in place first.
    alb.DependsOn = [*([alb.DependsOn] if isinstance(alb.DependsOn, str) else alb.DependsOn), policy.title]


def log_bucket(cfg: Config) -> s3.Bucket:
    days = cfg.env.log_retention_days
    bucket = s3.Bucket(
        "AccessLogBucket",
        # Kept when the stack goes: logs are evidence, and a non-empty bucket could not be deleted anyway.
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
        BucketEncryption=s3.BucketEncryption(ServerSideEncryptionConfiguration=[s3.ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))]),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-access-logs", Status="Enabled", ExpirationInDays=days,
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=1),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1))]),
    )
    return checkov_skip(
        bucket,
        ("CKV_AWS_18", "This is the log bucket: logging its own requests would log the log delivery"),
        ("CKV_AWS_145", "ALB access log delivery supports only SSE-S3 (AES256), not SSE-KMS"),
        ("CKV2_AWS_62", "No consumer of object events: logs are read on demand (Athena, download)"),
    )


def delivery_policy(cfg: Config, bucket: s3.Bucket) -> s3.BucketPolicy:
    # The configuration refused a region without a documented principal (elb_log_delivery.py).
    kind, who = delivery_principal(cfg.env.region) or ("Service", SERVICE_PRINCIPAL)
    principal = {"AWS": Sub(f"arn:${{AWS::Partition}}:iam::{who}:root")} if kind == "AWS" else {"Service": who}
    statements: list[dict[str, object]] = [
        {"Sid": "ElbLogDeliveryWrites", "Effect": "Allow", "Principal": principal, "Action": "s3:PutObject",
         "Resource": Sub("${AccessLogBucket.Arn}/AWSLogs/${AWS::AccountId}/*")},
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [GetAtt(bucket, "Arn"), Sub("${AccessLogBucket.Arn}/*")],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]
    return s3.BucketPolicy("AccessLogBucketPolicy", Bucket=Ref(bucket),
                           PolicyDocument={"Version": "2012-10-17", "Statement": statements})


def add_flow_logs(t: Template, cfg: Config, vpc: ec2.VPC) -> None:
    if not cfg.env.flow_logs:
        return
    group = t.add_resource(checkov_skip(logs.LogGroup(
        "FlowLogGroup", LogGroupName=f"/vpc/{cfg.prefix}/flow-logs", RetentionInDays=cfg.env.log_retention_days,
        DeletionPolicy="Delete", UpdateReplacePolicy="Delete",
    ), ("CKV_AWS_158", "CloudWatch Logs encrypts at rest by default; flow records hold addresses, no secrets")))
    role = t.add_resource(iam.Role(
        "FlowLogRole", Description=f"{cfg.prefix}: VPC flow logs deliver to their log group",
        AssumeRolePolicyDocument={"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}}}]},
        Policies=[iam.Policy(PolicyName="write-flow-logs", PolicyDocument={"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": Sub("${FlowLogGroup.Arn}")}]})],
    ))
    t.add_resource(ec2.FlowLog(
        "VpcFlowLog", ResourceId=Ref(vpc), ResourceType="VPC", TrafficType="ALL",
        LogDestinationType="cloud-watch-logs", LogGroupName=Ref(group), DeliverLogsPermissionArn=GetAtt(role, "Arn"),
        MaxAggregationInterval=600,
    ))
