"""Who may write an Application Load Balancer's access logs into its bucket, per region.

Source: "Enable access logs for your Application Load Balancer", step 2, "Attach a policy to your
S3 bucket" (Elastic Load Balancing User Guide for Application Load Balancers):
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html#attach-bucket-policy
- "Regions available before August 2022": the policy names the region's Elastic Load Balancing
  account (`arn:<partition>:iam::<elb-account-id>:root`); every id below is the page's.
- "Regions available as of August 2022 or later": the policy names the log-delivery service
  principal `logdelivery.elasticloadbalancing.amazonaws.com` (an account id is refused there).
A region in neither list gets no bucket policy that would work: with access_logs on, it is a
configuration error that names the region, rather than a stack whose logs silently never arrive.
No troposphere here: the configuration is checked with it, and loading it stays fast.
"""

from __future__ import annotations

from .schema import ConfigError

# Regions available before August 2022 -> the Elastic Load Balancing account id the page gives.
ELB_ACCOUNTS = {
    "us-east-1": "127311923021",  # US East (N. Virginia)
    "us-east-2": "033677994240",  # US East (Ohio)
    "us-west-1": "027434742980",  # US West (N. California)
    "us-west-2": "797873946194",  # US West (Oregon)
    "af-south-1": "098369216593",  # Africa (Cape Town)
    "ap-east-1": "754344448648",  # Asia Pacific (Hong Kong)
    "ap-southeast-3": "589379963580",  # Asia Pacific (Jakarta)
    "ap-south-1": "718504428378",  # Asia Pacific (Mumbai)
    "ap-northeast-3": "383597477331",  # Asia Pacific (Osaka)
    "ap-northeast-2": "600734575887",  # Asia Pacific (Seoul)
    "ap-southeast-1": "114774131450",  # Asia Pacific (Singapore)
    "ap-southeast-2": "783225319266",  # Asia Pacific (Sydney)
    "ap-northeast-1": "582318560864",  # Asia Pacific (Tokyo)
    "ca-central-1": "985666609251",  # Canada (Central)
    "eu-central-1": "054676820928",  # Europe (Frankfurt)
    "eu-west-1": "156460612806",  # Europe (Ireland)
    "eu-west-2": "652711504416",  # Europe (London)
    "eu-south-1": "635631232127",  # Europe (Milan)
    "eu-west-3": "009996457667",  # Europe (Paris)
    "eu-north-1": "897822967062",  # Europe (Stockholm)
    "me-south-1": "076674570225",  # Middle East (Bahrain)
    "sa-east-1": "507241528517",  # South America (São Paulo)
    "us-gov-west-1": "048591011584",  # AWS GovCloud (US-West)
    "us-gov-east-1": "190560391635",  # AWS GovCloud (US-East)
}
SERVICE_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com"
# Regions available as of August 2022 or later. The page lists Hyderabad, Melbourne, Spain, Zurich
# and UAE; the regions AWS opened after them fall under the same heading (their launch dates).
LOG_DELIVERY_REGIONS = frozenset({
    "ap-south-2",  # Asia Pacific (Hyderabad)
    "ap-southeast-4",  # Asia Pacific (Melbourne)
    "eu-south-2",  # Europe (Spain)
    "eu-central-2",  # Europe (Zurich)
    "me-central-1",  # Middle East (UAE)
    "il-central-1",  # Israel (Tel Aviv), 2023
    "ca-west-1",  # Canada West (Calgary), 2023
    "ap-southeast-5",  # Asia Pacific (Malaysia), 2024
    "ap-southeast-7",  # Asia Pacific (Thailand), 2025
    "mx-central-1",  # Mexico (Central), 2025
    "ap-east-2",  # Asia Pacific (Taipei), 2025
})


def delivery_principal(region: str) -> tuple[str, str] | None:
    """("AWS", ELB account id) or ("Service", log-delivery principal) for `region`; None when the
    page names the region in neither list."""
    if region in ELB_ACCOUNTS:
        return "AWS", ELB_ACCOUNTS[region]
    if region in LOG_DELIVERY_REGIONS:
        return "Service", SERVICE_PRINCIPAL
    return None


def check_access_logs(where: str, key: str, region: str, enabled: bool) -> None:
    if enabled and delivery_principal(region) is None:
        raise ConfigError(
            f"{where}: {key}.access_logs: AWS documents no ALB log-delivery principal for region {region!r} "
            "(see 'Enable access logs for your Application Load Balancer'), so its logs could never be "
            "delivered — set access_logs = false for this environment")
