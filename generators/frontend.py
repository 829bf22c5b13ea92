"""Application layer: the static site in a private bucket, served with the APIs from one domain.

CloudFront serves the bucket through origin access control and forwards /api/* and
/inference/* to the shared load balancer (its DNS name read from SSM), so the browser talks
to one HTTPS origin and the APIs need no CORS.
"""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Sub, Template, s3
from troposphere import cloudfront as cf

from . import origin_secret
from .common import SSM_STRING, checkov_skip, ssm_input, ssm_output
from .config import Config
from .naming import edge_param, network_param, service_param

# AWS-managed CloudFront policies (fixed ids, documented by AWS).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
API_PATHS = ("/api/*", "/inference/*")

# SPA routes (/chat, /settings/x) have no file behind them: serve index.html for any path
# without an extension. Done per request here rather than with distribution-wide custom error
# responses, which would also turn the APIs' own 403/404 answers into index.html.
SPA_REWRITE = """function handler(event) {
  var request = event.request;
  if (!request.uri.split('/').pop().includes('.')) {
    request.uri = '/index.html';
  }
  return request;
}
"""


def build_frontend(cfg: Config) -> Template:
    t = Template(Description=f"{cfg.prefix} frontend: static site on S3 + CloudFront, APIs on the same domain")
    alb_dns = ssm_input(t, "AlbDnsName", network_param(cfg.prefix, "alb-dns-name"), SSM_STRING)
    bucket = t.add_resource(site_bucket())
    oac = t.add_resource(origin_access_control(cfg))
    headers = t.add_resource(security_headers(cfg))
    rewrite = t.add_resource(spa_rewrite_function(cfg))
    dist = t.add_resource(distribution(cfg, bucket, oac, headers, rewrite, alb_dns))
    attach_web_acl(t, cfg, dist)
    origin_secret.add_origin_header(t, cfg, dist)
    t.add_resource(bucket_policy(bucket, dist))
    publish(t, cfg, bucket, dist)
    return t


def site_bucket() -> s3.Bucket:
    bucket = s3.Bucket(
        "SiteBucket",
        # The bucket holds the only copy of what was published; a stack deletion must not empty it.
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
        BucketEncryption=s3.BucketEncryption(ServerSideEncryptionConfiguration=[s3.ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"),
            BucketKeyEnabled=True)]),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        # Old versions of replaced site files are only a rollback aid; don't keep them forever.
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-old-versions", Status="Enabled",
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=30),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=7))]),
    )
    return checkov_skip(
        bucket,
        ("CKV_AWS_18", "Public site assets; CloudFront is the only reader and can log requests itself"),
        ("CKV_AWS_145", "SSE-S3: CloudFront origin access control reads SSE-KMS objects only with an extra key "
                        "policy, for public content with no confidentiality need"),
        ("CKV2_AWS_62", "No consumer of object events: the publish step invalidates CloudFront itself"),
    )


def origin_access_control(cfg: Config) -> cf.OriginAccessControl:
    return cf.OriginAccessControl("SiteOriginAccessControl", OriginAccessControlConfig=cf.OriginAccessControlConfig(
        Name=f"{cfg.prefix}-site", OriginAccessControlOriginType="s3",
        SigningBehavior="always", SigningProtocol="sigv4",
    ))


def security_headers(cfg: Config) -> cf.ResponseHeadersPolicy:
    csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
    config = cf.ResponseHeadersPolicyConfig(
        Name=f"{cfg.prefix}-security-headers",
        SecurityHeadersConfig=cf.SecurityHeadersConfig(
            StrictTransportSecurity=cf.StrictTransportSecurity(
                AccessControlMaxAgeSec=63072000, IncludeSubdomains=True, Preload=False, Override=True),
            ContentTypeOptions=cf.ContentTypeOptions(Override=True),
            FrameOptions=cf.FrameOptions(FrameOption="DENY", Override=True),
            ReferrerPolicy=cf.ReferrerPolicy(ReferrerPolicy="strict-origin-when-cross-origin", Override=True),
            XSSProtection=cf.XSSProtection(Protection=True, ModeBlock=True, Override=True),
            ContentSecurityPolicy=cf.ContentSecurityPolicy(ContentSecurityPolicy=csp, Override=True),
        ),
    )
    return cf.ResponseHeadersPolicy("SecurityHeadersPolicy", ResponseHeadersPolicyConfig=config)


def spa_rewrite_function(cfg: Config) -> cf.Function:
    return cf.Function(
        "SpaRewriteFunction", Name=f"{cfg.prefix}-spa-rewrite", AutoPublish=True, FunctionCode=SPA_REWRITE,
        FunctionConfig=cf.FunctionConfig(Comment="Serve index.html for client-side routes",
                                         Runtime="cloudfront-js-2.0"),
    )


def api_behavior(path: str, headers: cf.ResponseHeadersPolicy) -> cf.CacheBehavior:
    return cf.CacheBehavior(
        PathPattern=path, TargetOriginId="api", ViewerProtocolPolicy="redirect-to-https",
        AllowedMethods=["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
        CachedMethods=["GET", "HEAD"], CachePolicyId=CACHING_DISABLED,
        OriginRequestPolicyId=ALL_VIEWER_EXCEPT_HOST_HEADER, ResponseHeadersPolicyId=Ref(headers), Compress=True,
    )


def distribution(cfg: Config, bucket, oac, headers, rewrite, alb_dns) -> cf.Distribution:
    # CloudFront reaches the load balancer by its AWS DNS name, which no certificate of ours covers,
    # so that hop is HTTP; viewers always get HTTPS.
    api_origin = cf.Origin(Id="api", DomainName=alb_dns, CustomOriginConfig=cf.CustomOriginConfig(
        OriginProtocolPolicy="http-only", HTTPPort=80, OriginReadTimeout=60, OriginKeepaliveTimeout=5))
    site_origin = cf.Origin(Id="site", DomainName=GetAtt(bucket, "RegionalDomainName"),
                            OriginAccessControlId=GetAtt(oac, "Id"),
                            S3OriginConfig=cf.S3OriginConfig(OriginAccessIdentity=""))
    dist = cf.Distribution("Distribution", DistributionConfig=cf.DistributionConfig(
        Comment=f"{cfg.prefix} site and APIs", Enabled=True, HttpVersion="http2and3", IPV6Enabled=True,
        PriceClass="PriceClass_100", DefaultRootObject="index.html", Origins=[site_origin, api_origin],
        DefaultCacheBehavior=cf.DefaultCacheBehavior(
            TargetOriginId="site", ViewerProtocolPolicy="redirect-to-https", CachePolicyId=CACHING_OPTIMIZED,
            ResponseHeadersPolicyId=Ref(headers), Compress=True,
            FunctionAssociations=[cf.FunctionAssociation(EventType="viewer-request", FunctionARN=GetAtt(
                rewrite, "FunctionMetadata.FunctionARN"))],
        ),
        CacheBehaviors=[api_behavior(p, headers) for p in API_PATHS],
        ViewerCertificate=cf.ViewerCertificate(CloudFrontDefaultCertificate=True),
    ))
    return checkov_skip(
        dist,
        ("CKV_AWS_174", "Default *.cloudfront.net certificate: CloudFront fixes its TLS policy; set an alias and "
                        "ACM certificate to choose TLSv1.2_2021"),
        ("CKV_AWS_86", "Standard logs need a log bucket with ACLs; enable per account when required"),
        ("CKV_AWS_68", "WAF web ACL costs $5+/month per distribution; attach one per account when required"),
        ("CKV2_AWS_47", "No WAF web ACL attached (see CKV_AWS_68)"),
        ("CKV_AWS_310", "One origin per behaviour: the bucket and the load balancer have no failover twin"),
        ("CKV2_AWS_42", "Default certificate: a custom certificate needs a domain name of the user's"),
        ("CKV2_AWS_54", "Default certificate: CloudFront fixes its TLS policy (see CKV_AWS_174)"),
    )


def attach_web_acl(t: Template, cfg: Config, dist: cf.Distribution) -> None:
    """The `edge` stack's web ACL (us-east-1), its ARN read from SSM like every other input."""
    if not cfg.env.waf.enabled:
        return
    dist.DistributionConfig.WebACLId = ssm_input(t, "WebAclArn", edge_param(cfg.prefix, "web-acl-arn"))
    waf_skips = {"CKV_AWS_68", "CKV2_AWS_47"}  # "no WAF attached": no longer true
    skips = dist.Metadata["checkov"]["skip"]
    dist.Metadata["checkov"]["skip"] = [s for s in skips if s["id"] not in waf_skips]


def bucket_policy(bucket: s3.Bucket, dist: cf.Distribution) -> s3.BucketPolicy:
    arn = GetAtt(bucket, "Arn")
    objects = Sub("${SiteBucket.Arn}/*")
    return s3.BucketPolicy("SiteBucketPolicy", Bucket=Ref(bucket), PolicyDocument={
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "CloudFrontReadsThroughOriginAccessControl", "Effect": "Allow",
             "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject", "Resource": objects,
             "Condition": {"StringEquals": {"AWS:SourceArn": Sub(
                 "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}")}}},
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [arn, objects], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ],
    })


def publish(t: Template, cfg: Config, bucket: s3.Bucket, dist: cf.Distribution) -> None:
    url = Sub("https://${Distribution.DomainName}")
    ssm_output(t, service_param(cfg.prefix, "frontend", "bucket-name"), Ref(bucket), "Site bucket name")
    ssm_output(t, service_param(cfg.prefix, "frontend", "distribution-id"), Ref(dist), "CloudFront distribution id")
    ssm_output(t, service_param(cfg.prefix, "frontend", "url"), url, "Site URL (serves /api and /inference too)")
    t.add_output(Output("SiteUrl", Description="Site URL", Value=url))
    t.add_output(Output("SiteBucketName", Description="Bucket the publish step uploads to", Value=Ref(bucket)))
    t.add_output(Output("DistributionId", Description="CloudFront distribution id", Value=Ref(dist)))
