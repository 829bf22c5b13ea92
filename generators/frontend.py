"""Application layer: the static site in a private bucket, served with the APIs from one domain.

CloudFront serves the bucket through origin access control and forwards /api/* and
/inference/* to the shared load balancer, so the browser talks to one HTTPS origin and the APIs
need no CORS. edge = "vpc-origin": through a CloudFront VPC origin made here (the load balancer's
ARN and DNS name read from SSM); "public-alb": over HTTPS to origin.<domain>.
"""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Sub, Template, route53, s3
from troposphere import cloudfront as cf

from . import origin_secret
from .auth_config import identity_origins
from .common import SSM_STRING, checkov_skip, ssm_input, ssm_output
from .config import Config
from .edge_config import EdgeConfig
from .naming import edge_param, network_param, service_param

# AWS-managed CloudFront policies (fixed ids, documented by AWS).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
API_PATHS = ("/api/*", "/inference/*")
# The hosted zone id every CloudFront distribution's alias records point into (fixed by AWS).
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
# How long CloudFront waits for the API's first byte (default 30 s): as long as the load balancer's
# idle timeout, so a slow answer fails at the service (504), not halfway at the edge.
ORIGIN_READ_TIMEOUT = 60

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
    bucket = t.add_resource(site_bucket())
    oac = t.add_resource(origin_access_control(cfg))
    headers = t.add_resource(security_headers(cfg))
    rewrite = t.add_resource(spa_rewrite_function(cfg))
    dist = t.add_resource(distribution(cfg, bucket, oac, headers, rewrite, api_origin(t, cfg)))
    attach_web_acl(t, cfg, dist)
    t.add_resource(bucket_policy(bucket, dist))
    add_viewer_records(t, cfg.env.edge, dist)
    publish(t, cfg, bucket, dist)
    return t


def site_bucket() -> s3.Bucket:
    bucket = s3.Bucket(
        "SiteBucket",
        # The bucket holds the only copy of what was published; a stack deletion must not empty it.
        # RetainExceptOnCreate: a failed first create deletes it though, so no empty bucket is orphaned.
        DeletionPolicy="RetainExceptOnCreate", UpdateReplacePolicy="Retain",
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
           f"connect-src {connect_src(cfg)}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
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


def connect_src(cfg: Config) -> str:
    """The site fetches its own origin, and the identity provider's token endpoint when sign-in is on."""
    origins = identity_origins(cfg.env.auth, cfg.env.region) if cfg.env.auth.enabled else ()
    return " ".join(("'self'", *origins))


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


def origin_custom_headers(t: Template, cfg: Config) -> list[cf.OriginCustomHeader]:
    """Headers CloudFront adds to every API request: the public-alb origin secret (origin_secret.py)."""
    return origin_secret.origin_headers(t, cfg)


def api_origin(t: Template, cfg: Config) -> cf.Origin:
    """The load balancer as CloudFront's "api" origin; protocol and port match its one listener."""
    edge = cfg.env.edge
    policy = "https-only" if edge.origin_https else "http-only"
    extra = {"OriginCustomHeaders": headers} if (headers := origin_custom_headers(t, cfg)) else {}
    if not edge.internal:
        # public-alb always has a domain (config.py): HTTPS to origin.<domain>, the name on the ALB certificate.
        return cf.Origin(Id="api", DomainName=edge.origin_domain, **extra,
                         CustomOriginConfig=cf.CustomOriginConfig(
                             OriginProtocolPolicy=policy, HTTPSPort=edge.origin_port, OriginSSLProtocols=["TLSv1.2"],
                             OriginReadTimeout=ORIGIN_READ_TIMEOUT, OriginKeepaliveTimeout=5))
    alb_arn = ssm_input(t, "AlbArn", network_param(cfg.prefix, "alb-arn"), SSM_STRING)
    vpc_origin = t.add_resource(cf.VpcOrigin("ApiVpcOrigin", VpcOriginEndpointConfig=cf.VpcOriginEndpointConfig(
        Name=f"{cfg.prefix}-alb", Arn=alb_arn, HTTPPort=80, HTTPSPort=443, OriginProtocolPolicy=policy,
        OriginSSLProtocols=["TLSv1.2"],
    )))
    # With a domain, CloudFront asks for origin.<domain> (TLS SNI and certificate check against the ALB's
    # certificate); without one it uses the ALB's own name over HTTP, on the VPC origin's private path.
    domain = edge.origin_domain or ssm_input(t, "AlbDnsName", network_param(cfg.prefix, "alb-dns-name"), SSM_STRING)
    return cf.Origin(Id="api", DomainName=domain, **extra,
                     VpcOriginConfig=cf.VpcOriginConfig(VpcOriginId=GetAtt(vpc_origin, "Id"),
                                                        OriginReadTimeout=ORIGIN_READ_TIMEOUT,
                                                        OriginKeepaliveTimeout=5))


def viewer_certificate(edge: EdgeConfig) -> cf.ViewerCertificate:
    if edge.domain is None:
        return cf.ViewerCertificate(CloudFrontDefaultCertificate=True)
    return cf.ViewerCertificate(AcmCertificateArn=edge.cloudfront_certificate_arn, SslSupportMethod="sni-only",
                                MinimumProtocolVersion="TLSv1.2_2021")


def distribution(cfg: Config, bucket, oac, headers, rewrite, api: cf.Origin) -> cf.Distribution:
    edge = cfg.env.edge
    site_origin = cf.Origin(Id="site", DomainName=GetAtt(bucket, "RegionalDomainName"),
                            OriginAccessControlId=GetAtt(oac, "Id"),
                            S3OriginConfig=cf.S3OriginConfig(OriginAccessIdentity=""))
    config = cf.DistributionConfig(
        Comment=f"{cfg.prefix} site and APIs", Enabled=True, HttpVersion="http2and3", IPV6Enabled=True,
        PriceClass="PriceClass_100", DefaultRootObject="index.html", Origins=[site_origin, api],
        DefaultCacheBehavior=cf.DefaultCacheBehavior(
            TargetOriginId="site", ViewerProtocolPolicy="redirect-to-https", CachePolicyId=CACHING_OPTIMIZED,
            ResponseHeadersPolicyId=Ref(headers), Compress=True,
            FunctionAssociations=[cf.FunctionAssociation(EventType="viewer-request", FunctionARN=GetAtt(
                rewrite, "FunctionMetadata.FunctionARN"))],
        ),
        CacheBehaviors=[api_behavior(p, headers) for p in API_PATHS],
        ViewerCertificate=viewer_certificate(edge),
    )
    if edge.domain:
        config.Aliases = [edge.domain]
    skips = [
        ("CKV_AWS_86", "Standard logs need a log bucket with ACLs; enable per account when required"),
        ("CKV_AWS_68", "WAF web ACL costs $5+/month per distribution; attach one per account when required"),
        ("CKV2_AWS_47", "No WAF web ACL attached (see CKV_AWS_68)"),
        ("CKV_AWS_310", "One origin per behaviour: the bucket and the load balancer have no failover twin"),
    ]
    if edge.domain is None:
        skips += [
            ("CKV_AWS_174", "Default *.cloudfront.net certificate: CloudFront fixes its TLS policy; set domain and "
                            "cloudfront_certificate_arn to choose TLSv1.2_2021"),
            ("CKV2_AWS_42", "Default certificate: a custom certificate needs a domain name of the user's"),
            ("CKV2_AWS_54", "Default certificate: CloudFront fixes its TLS policy (see CKV_AWS_174)"),
        ]
    return checkov_skip(cf.Distribution("Distribution", DistributionConfig=config), *skips)


def add_viewer_records(t: Template, edge: EdgeConfig, dist: cf.Distribution) -> None:
    """<domain> -> the distribution, IPv4 and IPv6, when the zone is ours to write."""
    if edge.domain is None or edge.hosted_zone_id is None:
        return
    for record_type in ("A", "AAAA"):
        t.add_resource(route53.RecordSetType(
            f"SiteDnsRecord{record_type}", HostedZoneId=edge.hosted_zone_id, Name=edge.domain, Type=record_type,
            AliasTarget=route53.AliasTarget(DNSName=GetAtt(dist, "DomainName"), HostedZoneId=CLOUDFRONT_ZONE_ID),
        ))


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
    domain = cfg.env.edge.domain
    url = f"https://{domain}" if domain else Sub("https://${Distribution.DomainName}")
    ssm_output(t, service_param(cfg.prefix, "frontend", "bucket-name"), Ref(bucket), "Site bucket name")
    ssm_output(t, service_param(cfg.prefix, "frontend", "distribution-id"), Ref(dist), "CloudFront distribution id")
    ssm_output(t, service_param(cfg.prefix, "frontend", "url"), url, "Site URL (serves /api and /inference too)")
    t.add_output(Output("SiteUrl", Description="Site URL", Value=url))
    t.add_output(Output("SiteBucketName", Description="Bucket the publish step uploads to", Value=Ref(bucket)))
    t.add_output(Output("DistributionId", Description="CloudFront distribution id", Value=Ref(dist)))
