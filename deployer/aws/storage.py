"""SSM parameters, ECR images, S3 objects and CloudFront invalidations: what deployments publish and read."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from deployer.aws.runner import error_code


def get_parameters(ssm: Any, paths: Iterable[str]) -> dict[str, str]:
    """Path -> value for the paths that exist (GetParameters takes ten names per call)."""
    names = sorted(set(paths))
    found: dict[str, str] = {}
    for i in range(0, len(names), 10):
        for p in ssm.get_parameters(Names=names[i:i + 10])["Parameters"]:
            found[p["Name"]] = p["Value"]
    return found


def put_parameter(ssm: Any, name: str, value: str) -> int:
    # Never with Tags: AWS rejects Tags together with Overwrite
    # ("Invalid request: tags and overwrite can't be used together").
    return int(ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)["Version"])


def repository_uri(ecr: Any, repository: str) -> str | None:
    try:
        return str(ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]["repositoryUri"])
    except ClientError as exc:
        if error_code(exc) == "RepositoryNotFoundException":
            return None
        raise


def image_exists(ecr: Any, repository: str, tag: str) -> bool:
    try:
        ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ClientError as exc:
        if error_code(exc) in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return False
        raise
    return True


def image_digest(ecr: Any, repository: str, tag: str) -> str | None:
    try:
        found = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
    except ClientError as exc:
        if error_code(exc) in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return None
        raise
    return str(found[0]["imageDigest"]) if found else None


def image_ids(ecr: Any, repository: str) -> list[dict[str, str]]:
    """Every image of a repository ([] when the repository does not exist)."""
    ids: list[dict[str, str]] = []
    try:
        for page in ecr.get_paginator("list_images").paginate(repositoryName=repository):
            ids += page.get("imageIds", [])
    except ClientError as exc:
        if error_code(exc) == "RepositoryNotFoundException":
            return []
        raise
    return ids


def delete_images(ecr: Any, repository: str, ids: list[dict[str, str]]) -> None:
    for i in range(0, len(ids), 100):  # BatchDeleteImage takes 100 image ids per call
        ecr.batch_delete_image(repositoryName=repository, imageIds=ids[i:i + 100])


def put_placeholder_image(ecr: Any, repository: str, tag: str) -> None:
    """A minimal image manifest, so an emulated ECR answers describe_images for the tag."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 0,
                   "digest": "sha256:" + "0" * 64},
        "layers": [],
    }
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)


def registry_login(ecr: Any) -> tuple[str, str, str]:
    """(registry host, user, password) from get-authorization-token, for `docker login`."""
    data = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    return data["proxyEndpoint"].removeprefix("https://"), user, password


def list_keys(s3: Any, bucket: str) -> set[str]:
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.update(o["Key"] for o in page.get("Contents", []))
    return keys


def get_text(s3: Any, bucket: str, key: str) -> str:
    return str(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8", errors="replace"))


def upload_file(s3: Any, bucket: str, key: str, path: str, content_type: str, cache_control: str) -> None:
    with open(path, "rb") as fh:
        s3.put_object(Bucket=bucket, Key=key, Body=fh, ContentType=content_type, CacheControl=cache_control)


def delete_keys(s3: Any, bucket: str, keys: Iterable[str]) -> None:
    ordered = sorted(keys)
    for i in range(0, len(ordered), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in ordered[i:i + 1000]]})


def invalidate(cloudfront: Any, distribution_id: str, paths: list[str]) -> str:
    ref = f"deploy-py-{time.time_ns()}"
    answer = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": ref},
    )
    return str(answer["Invalidation"]["Id"])


def parameter_history(ssm: Any, path: str) -> list[dict[str, Any]]:
    """Every stored version of a parameter, oldest first ([] when it does not exist)."""
    out: list[dict[str, Any]] = []
    args: dict[str, Any] = {"Name": path, "MaxResults": 50}
    try:
        while True:
            page = ssm.get_parameter_history(**args)
            out += page.get("Parameters", [])
            if not page.get("NextToken"):
                return sorted(out, key=lambda p: int(p["Version"]))
            args["NextToken"] = page["NextToken"]
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return []
        raise


def existing_image_tags(ecr: Any, repository: str) -> set[str]:
    """Every tag in a repository (empty when the repository is absent)."""
    try:
        return {i["imageTag"] for i in image_ids(ecr, repository) if "imageTag" in i}
    except ClientError as exc:
        if error_code(exc) == "RepositoryNotFoundException":
            return set()
        raise


def missing_parameters(ssm: Any, paths: Iterable[str]) -> list[str]:
    names = sorted(set(paths))
    missing: list[str] = []
    for i in range(0, len(names), 10):
        missing += ssm.get_parameters(Names=names[i:i + 10]).get("InvalidParameters", [])
    return sorted(missing)


def delete_parameter(ssm: Any, name: str) -> bool:
    """True if it existed."""
    try:
        ssm.delete_parameter(Name=name)
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return False
        raise
    return True
