"""The only module that calls AWS. Every function takes the client it needs as its first argument.

boto3 is imported here and nowhere on the synth path. Clients use botocore's adaptive retry mode,
so throttling with several stacks in flight slows the run down instead of failing it.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from .planner import Kind, Poller, classify

# Called as hook(event_name, **kwargs) before every API call (the benchmark counts calls with it).
CALL_HOOKS: list[Callable[..., None]] = []
RETRIES = BotoConfig(retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=5, read_timeout=60)
Sleep = Callable[[float], None]


class Clients:
    """One boto3 session; clients made on first use (each costs tens of milliseconds)."""

    def __init__(self, region: str, profile: str | None = None) -> None:
        self.session = boto3.session.Session(region_name=region, profile_name=profile)
        self.region = region
        self.profile = profile
        self._regions: dict[str, Clients] = {}
        self._lock = threading.Lock()

    def for_region(self, region: str | None) -> Clients:
        """The same credentials in another region (a stack that must live elsewhere, e.g. us-east-1)."""
        if not region or region == self.region:
            return self
        with self._lock:  # stacks of one batch ask from several threads
            if region not in self._regions:
                self._regions[region] = Clients(region, self.profile)
            return self._regions[region]

    def _client(self, service: str) -> Any:
        client = self.session.client(service, config=RETRIES)  # honours AWS_ENDPOINT_URL itself
        for hook in CALL_HOOKS:
            client.meta.events.register("before-call.*.*", hook)
        return client

    @cached_property
    def cf(self) -> Any:
        return self._client("cloudformation")

    @cached_property
    def ssm(self) -> Any:
        return self._client("ssm")

    @cached_property
    def ecr(self) -> Any:
        return self._client("ecr")

    @cached_property
    def s3(self) -> Any:
        return self._client("s3")

    @cached_property
    def sts(self) -> Any:
        return self._client("sts")

    @cached_property
    def cloudfront(self) -> Any:
        return self._client("cloudfront")

    @cached_property
    def secrets(self) -> Any:
        return self._client("secretsmanager")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", exc))


def caller_account(sts: Any) -> str:
    return str(sts.get_caller_identity()["Account"])


# --- CloudFormation -------------------------------------------------------------------------------

def describe_stack(cf: Any, name: str) -> dict[str, Any] | None:
    try:
        stacks = cf.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in error_message(exc):
            return None
        raise
    return stacks[0] if stacks and stacks[0]["StackStatus"] != "DELETE_COMPLETE" else None


def create_change_set(cf: Any, args: dict[str, Any]) -> str:
    return str(cf.create_change_set(**args)["Id"])


def describe_change_set(cf: Any, change_set_id: str) -> dict[str, Any]:
    page = cf.describe_change_set(ChangeSetName=change_set_id)
    changes = list(page.get("Changes", []))
    while page.get("NextToken"):
        page = cf.describe_change_set(ChangeSetName=change_set_id, NextToken=page["NextToken"])
        changes += page.get("Changes", [])
    return {**page, "Changes": changes}


def change_set_kind(cs: dict[str, Any]) -> Kind:
    return classify("change-set", cs.get("Status"), cs.get("ExecutionStatus", ""), cs.get("StatusReason", ""))


def wait_change_set(cf: Any, change_set_id: str, sleep: Sleep = time.sleep) -> dict[str, Any]:
    poller = Poller()
    while True:
        sleep(poller.next_delay())
        cs = describe_change_set(cf, change_set_id)
        if change_set_kind(cs) is not Kind.PENDING:
            return cs


def list_change_sets(cf: Any, stack_name: str) -> list[dict[str, Any]]:
    summaries: list[dict[str, Any]] = []
    for page in cf.get_paginator("list_change_sets").paginate(StackName=stack_name):
        summaries += page.get("Summaries", [])
    # moto ignores the StackName filter; AWS applies it. Filtering again costs nothing.
    return [s for s in summaries if s.get("StackName") == stack_name]


def delete_change_set(cf: Any, change_set_id: str) -> None:
    try:
        cf.delete_change_set(ChangeSetName=change_set_id)
    except ClientError as exc:
        if "does not exist" not in error_message(exc):
            raise


def execute_change_set(cf: Any, change_set_id: str) -> None:
    cf.execute_change_set(ChangeSetName=change_set_id)


def new_events(cf: Any, stack_id: str, seen: set[str]) -> list[dict[str, Any]]:
    """Events not seen yet, oldest first (the API returns newest first)."""
    fresh: list[dict[str, Any]] = []
    for page in cf.get_paginator("describe_stack_events").paginate(StackName=stack_id):
        batch = [e for e in page["StackEvents"] if e["EventId"] not in seen]
        fresh += batch
        if len(batch) < len(page["StackEvents"]):
            break  # reached events we have already shown
    seen.update(e["EventId"] for e in fresh)
    return list(reversed(fresh))


def wait_stack(
    cf: Any, stack_id: str, on_events: Callable[[list[dict[str, Any]]], None],
    seen: set[str], sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    """Poll until the stack's operation ends, streaming its new events; returns the final stack."""
    poller = Poller()
    while True:
        sleep(poller.next_delay())
        events = new_events(cf, stack_id, seen)
        if events:
            on_events(events)
        stack = cf.describe_stacks(StackName=stack_id)["Stacks"][0]
        if classify("stack", stack["StackStatus"]) is not Kind.PENDING:
            return dict(stack)


def delete_stack(cf: Any, stack_id: str) -> None:
    cf.delete_stack(StackName=stack_id)


def cancel_update(cf: Any, stack_name: str) -> str | None:
    """Ask CloudFormation to roll back an update in progress; the reason it refused, if it did."""
    try:
        cf.cancel_update_stack(StackName=stack_name)
    except ClientError as exc:
        return error_message(exc)
    return None


def set_termination_protection(cf: Any, stack_name: str, enabled: bool) -> None:
    cf.update_termination_protection(StackName=stack_name, EnableTerminationProtection=enabled)


# --- SSM ------------------------------------------------------------------------------------------

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


def delete_parameter(ssm: Any, name: str) -> bool:
    """True if it existed."""
    try:
        ssm.delete_parameter(Name=name)
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return False
        raise
    return True


# --- Secrets Manager ------------------------------------------------------------------------------

def secret_exists(sm: Any, name: str) -> bool:
    try:
        sm.describe_secret(SecretId=name)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return False
        raise
    return True


def create_secret(sm: Any, name: str, value: str, description: str, tags: dict[str, str]) -> str:
    """The new secret's first version id. The value is never logged or printed."""
    answer = sm.create_secret(Name=name, SecretString=value, Description=description,
                              Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return str(answer["VersionId"])


def put_secret_value(sm: Any, name: str, value: str) -> str:
    """A new version (it becomes AWSCURRENT); its version id."""
    return str(sm.put_secret_value(SecretId=name, SecretString=value)["VersionId"])


def secret_json(sm: Any, name: str, version_id: str) -> dict[str, Any] | None:
    """One version's JSON value, or None when that version does not exist."""
    try:
        text = sm.get_secret_value(SecretId=name, VersionId=version_id)["SecretString"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    value = json.loads(text)
    return value if isinstance(value, dict) else None


# --- ECR ------------------------------------------------------------------------------------------

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


# --- S3 and CloudFront ----------------------------------------------------------------------------

def ensure_bucket(s3: Any, bucket: str, region: str) -> bool:
    """Create the artifacts bucket on first need: encrypted, public access blocked. True if created."""
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **location)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    return True


def upload_template(s3: Any, bucket: str, key: str, body: str, region: str) -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/json")
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


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
