"""Foundation layer: one ECR repository per configured service.

Tag flow: images are pushed once under the short git SHA of the commit they were built from
and never re-tagged, so tags are IMMUTABLE: an image a task definition names can never be
swapped underneath a running service. The publish step skips the push when the tag exists.
The protected prefixes below are for tags people add by hand (a release, a rollback target).
"""

from __future__ import annotations

import json

from troposphere import GetAtt, Output, Template, ecr

from .common import logical_id, ssm_output
from .config import Config, ServiceSpec
from .naming import REPOSITORY_URI_KEY, repository_name, service_param

# Protected tags. ECR selects an image for a rule only if it carries *all* prefixes
# of that rule's tagPrefixList, and rejects "" — so each prefix gets a rule of its own.
PROTECTED_TAG_PREFIXES = ("latest", "deployed", "prod", "staging", "v", "release")
PROTECTED_KEEP = 1000  # "keep": a count ECR will not reach in practice
UNTAGGED_EXPIRY_DAYS = 7


def lifecycle_policy() -> str:
    rules = [
        {
            "rulePriority": priority,
            "description": f"Protect images tagged {prefix}* from the expiry rules below",
            "selection": {"tagStatus": "tagged", "tagPrefixList": [prefix],
                          "countType": "imageCountMoreThan", "countNumber": PROTECTED_KEEP},
            "action": {"type": "expire"},
        }
        for priority, prefix in enumerate(PROTECTED_TAG_PREFIXES, start=1)
    ]
    rules.append({
        "rulePriority": len(rules) + 1,
        "description": f"Expire untagged images after {UNTAGGED_EXPIRY_DAYS} days",
        "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                      "countUnit": "days", "countNumber": UNTAGGED_EXPIRY_DAYS},
        "action": {"type": "expire"},
    })
    return json.dumps({"rules": rules}, sort_keys=True)


def build_registry(cfg: Config) -> Template:
    t = Template(Description=f"{cfg.prefix} registry: one ECR repository per service (foundation layer)")
    policy = lifecycle_policy()
    for svc in cfg.services:
        add_repository(t, cfg, svc, policy)
    return t


def add_repository(t: Template, cfg: Config, svc: ServiceSpec, policy: str) -> None:
    repo = t.add_resource(ecr.Repository(
        logical_id(svc.name, "Repository"),
        RepositoryName=repository_name(cfg.prefix, svc.name),
        ImageTagMutability="IMMUTABLE",
        ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
        # KMS with the AWS-managed aws/ecr key: encrypted with KMS at no key cost.
        EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="KMS"),
        LifecyclePolicy=ecr.LifecyclePolicy(LifecyclePolicyText=policy),
        # Not Retain: the name is fixed, so a retained repository would make the next create fail.
        # Not EmptyOnDelete either: deleting a repository that still holds images fails, so images
        # are only ever deleted on purpose.
        EmptyOnDelete=False,
        DeletionPolicy="Delete",
        UpdateReplacePolicy="Delete",
    ))
    uri = GetAtt(repo, "RepositoryUri")
    ssm_output(t, service_param(cfg.prefix, svc.name, REPOSITORY_URI_KEY), uri, f"ECR repository URI of {svc.name}")
    t.add_output(Output(logical_id(svc.name, "RepositoryUri"), Description=f"{svc.name} image repository", Value=uri))
