"""The only module that calls AWS. Every function takes the client it needs as its first argument.

boto3 is imported here and nowhere on the synth path. Clients use botocore's adaptive retry mode,
so throttling with several stacks in flight slows the run down instead of failing it.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from deployer.planning.planner import Kind, Poller, classify

# Called as hook(event_name, **kwargs) before every API call (the benchmark counts calls with it).
CALL_HOOKS: list[Callable[..., None]] = []
# Every AWS API call this tool makes answers within seconds; a read that takes 20 s is an endpoint
# that will not answer. Connection failures and timeouts count against the same retry budget.
RETRIES = BotoConfig(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=3, read_timeout=20)
# The first call of every command (who am I?) goes without botocore's retries: `caller_account`
# retries throttling itself, but gives up on the second timeout, so a silent endpoint is named
# within PROBE_READ * 2 seconds and an unreachable one within a few.
PROBE_READ = 8
PROBE = BotoConfig(retries={"total_max_attempts": 1}, connect_timeout=3, read_timeout=PROBE_READ)
THROTTLED = ("Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded")
Sleep = Callable[[float], None]
BENCH_SWITCH = "PLATFORM_BENCH_NO_PROPERTY_VALUES"  # bench only: describe without property values, no review


class Clients:
    """One boto3 session; clients made on first use (each costs tens of milliseconds)."""

    def __init__(self, region: str, profile: str | None = None) -> None:
        self.session = boto3.session.Session(region_name=region, profile_name=profile)
        self.region = region
        self.profile = profile
        self._regions: dict[str, Clients] = {}
        self._lock = threading.Lock()

    def for_region(self, region: str | None) -> Clients:
        """The same credentials in another region (a stack that must live elsewhere: edge in us-east-1)."""
        if not region or region == self.region:
            return self
        with self._lock:  # stacks of one batch ask from several threads
            if region not in self._regions:
                self._regions[region] = Clients(region, self.profile)
            return self._regions[region]

    def _client(self, service: str, config: BotoConfig = RETRIES) -> Any:
        client = self.session.client(service, config=config)  # honours AWS_ENDPOINT_URL itself
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
    def cf_once(self) -> Any:
        """CloudFormation without retries, for optional steps an endpoint may not implement (an HTTP
        500 would otherwise be retried for a minute before the warning)."""
        return self._client("cloudformation", PROBE)

    @cached_property
    def probe(self) -> Any:
        """STS without botocore's retries, for the first call (see PROBE)."""
        return self._client("sts", PROBE)

    @cached_property
    def cloudfront(self) -> Any:
        return self._client("cloudfront")

    @cached_property
    def secrets(self) -> Any:
        return self._client("secretsmanager")

    def extra(self, service: str) -> Any:
        """Any other client, made once (logs, ecs, elbv2, cloudwatch, secretsmanager: day-two commands)."""
        made = self.__dict__.setdefault("_extra", {})
        if service not in made:
            made[service] = self._client(service)
        return made[service]


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", exc))


class Unreachable(Exception):
    """The endpoint refused, never accepted, or never answered: one line naming it."""


def caller_account(sts: Any, sleep: Sleep = time.sleep, attempts: int = 8) -> str:
    """The caller's account. Throttling is retried with backoff; a second timeout or refusal is final."""
    failures = 0
    for attempt in range(attempts):
        try:
            return str(sts.get_caller_identity()["Account"])
        except (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError) as exc:
            failures += 1
            if failures == 2:
                raise Unreachable(_unreachable(sts.meta.endpoint_url, exc)) from None
        except ClientError as exc:
            if error_code(exc) not in THROTTLED or attempt == attempts - 1:
                raise
        sleep(min(0.25 * 2 ** attempt, 4.0))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _unreachable(url: str, exc: Exception) -> str:
    if isinstance(exc, ReadTimeoutError):
        return f"{url} accepted the connection but did not answer within {PROBE_READ} s, twice"
    if isinstance(exc, ConnectTimeoutError):
        return f"{url} did not accept a connection within {PROBE.connect_timeout} s, twice"
    return f"cannot connect to {url} (connection refused or no route), twice"


# --- CloudFormation -------------------------------------------------------------------------------

def describe_stack(cf: Any, name: str) -> dict[str, Any] | None:
    try:
        stacks = cf.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in error_message(exc):
            return None
        raise
    return stacks[0] if stacks and stacks[0]["StackStatus"] != "DELETE_COMPLETE" else None


def stacks_named(cf: Any, prefix: str) -> list[dict[str, Any]]:
    """Every live stack whose name starts with `prefix`."""
    found: list[dict[str, Any]] = []
    for page in cf.get_paginator("describe_stacks").paginate():
        found += [s for s in page["Stacks"] if s["StackName"].startswith(prefix)
                  and s["StackStatus"] != "DELETE_COMPLETE"]
    return found


def resource_ids(cf: Any, stack_name: str) -> set[str]:
    """Logical ids of the resources a stack has ([] when there is no such stack)."""
    try:
        return {r["LogicalResourceId"] for r in cf.describe_stack_resources(StackName=stack_name)["StackResources"]}
    except ClientError:
        return set()


def physical_ids(cf: Any, stack_name: str) -> dict[str, str]:
    """Logical id -> physical id of a stack's resources ({} when there is no such stack)."""
    try:
        return {r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
                for r in cf.describe_stack_resources(StackName=stack_name)["StackResources"]}
    except ClientError:
        return {}


def deployed_template(cf: Any, stack_name: str) -> dict[str, Any]:
    body = cf.get_template(StackName=stack_name)["TemplateBody"]
    return json.loads(body) if isinstance(body, str) else dict(body)  # boto3 parses JSON bodies itself


def create_change_set(cf: Any, args: dict[str, Any]) -> str:
    return str(cf.create_change_set(**args)["Id"])


def property_values_wanted() -> bool:
    """False only under bench/bench_deploy.py's switch, which measures the review's cost against the same code."""
    return os.environ.get(BENCH_SWITCH) != "1"


def describe_change_set(cf: Any, change_set_id: str) -> dict[str, Any]:
    """The change set with all its changes, with property values (before/after per property)."""
    values = {"IncludePropertyValues": True} if property_values_wanted() else {}
    page = cf.describe_change_set(ChangeSetName=change_set_id, **values)
    changes = list(page.get("Changes", []))
    while page.get("NextToken"):
        page = cf.describe_change_set(ChangeSetName=change_set_id, NextToken=page["NextToken"], **values)
        changes += page.get("Changes", [])
    return {**page, "Changes": changes}


def parameter_values(stack: dict[str, Any]) -> dict[str, str]:
    """Template parameter -> the value a described stack used; for an SSM-typed one, the value it
    resolved to (`ResolvedValue`), not the path. NoEcho values arrive masked and stay so."""
    return {p["ParameterKey"]: str(p.get("ResolvedValue", p.get("ParameterValue", "")))
            for p in stack.get("Parameters", [])}


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


class StillBusy(Exception):
    """wait_stack's time limit passed with the stack's operation still running."""


def wait_stack(
    cf: Any, stack_id: str, on_events: Callable[[list[dict[str, Any]]], None],
    seen: set[str], sleep: Sleep = time.sleep, limit: float | None = None,
) -> dict[str, Any]:
    """Poll until the stack's operation ends, streaming its new events; returns the final stack.
    With `limit` (seconds), raises StillBusy(status) once that much time has passed."""
    poller, deadline = Poller(), None if limit is None else time.monotonic() + limit
    while True:
        if deadline is not None and time.monotonic() > deadline:
            raise StillBusy(cf.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"])
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


# --- S3 and CloudFront ----------------------------------------------------------------------------

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


# --- Artifacts bucket (issue 12) --------------------------------------------------------------------
# Its name is predictable (<prefix>-cfn-<account>-<region>): another account may create it first. Every
# call that accepts ExpectedBucketOwner passes it (S3 then answers 403 for a bucket of another owner);
# CreateBucket does not accept it, and not every endpoint honours it, so bucket_state checks explicitly.
ARTIFACTS_KEEP_DAYS = 30  # templates are read once, by CreateChangeSet; older ones are only history
TEMPLATES_TLS_ONLY = "DenyInsecureTransport"


class ForeignBucket(Exception):
    """The artifacts bucket exists and belongs to another account: nothing may be uploaded to it."""


def bucket_state(s3: Any, bucket: str, account: str) -> str:
    """"absent", "mine" or "foreign" (exists, but not among the caller's own buckets)."""
    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
    except ClientError as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            return "absent"
        if code in ("403", "AccessDenied", "Forbidden"):
            return "foreign"
        raise
    # HeadBucket answered: ours, or an endpoint that ignores ExpectedBucketOwner. ListBuckets lists
    # only the caller's own buckets, whoever may read others'.
    return "mine" if bucket in own_buckets(s3) else "foreign"


def own_buckets(s3: Any) -> set[str]:
    names: set[str] = set()
    for page in s3.get_paginator("list_buckets").paginate():
        names.update(b["Name"] for b in page.get("Buckets", []))
    return names


def ensure_bucket(s3: Any, bucket: str, region: str, account: str) -> bool:
    """The artifacts bucket, created on first need and hardened; True if created. ForeignBucket if
    another account owns the name."""
    state = bucket_state(s3, bucket, account)
    if state == "foreign":
        raise ForeignBucket(bucket)
    if state == "absent":
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **location)
        if bucket_state(s3, bucket, account) != "mine":  # lost a race for the name
            raise ForeignBucket(bucket)
    versioning = s3.get_bucket_versioning(Bucket=bucket, ExpectedBucketOwner=account)
    if state == "absent" or versioning.get("Status") != "Enabled":  # created by an older version: harden it
        harden_bucket(s3, bucket, account)
    return state == "absent"


def harden_bucket(s3: Any, bucket: str, account: str) -> None:
    """Private, encrypted, TLS only, versioned (a swapped template leaves a trace), old templates expire."""
    owner = {"ExpectedBucketOwner": account}
    s3.put_public_access_block(Bucket=bucket, **owner, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, **owner, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    if s3.meta.endpoint_url.startswith("https://"):
        # Over plain HTTP (an emulator) the policy would lock this tool out of its own bucket.
        s3.put_bucket_policy(Bucket=bucket, **owner, Policy=json.dumps(tls_only_policy(s3.meta.partition, bucket)))
    s3.put_bucket_versioning(Bucket=bucket, **owner, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, **owner, LifecycleConfiguration={"Rules": [{
        "ID": "expire-old-templates", "Status": "Enabled", "Filter": {"Prefix": ""},
        "Expiration": {"Days": ARTIFACTS_KEEP_DAYS},
        "NoncurrentVersionExpiration": {"NoncurrentDays": ARTIFACTS_KEEP_DAYS},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]})


def upload_template(s3: Any, bucket: str, key: str, body: str, region: str, account: str) -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/json",
                  ExpectedBucketOwner=account)
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


def tls_only_policy(partition: str, bucket: str) -> dict[str, Any]:
    arn = f"arn:{partition}:s3:::{bucket}"
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": TEMPLATES_TLS_ONLY, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


# --- Day two (issue 11): logs, rollout state, target health, alarms, releases, secrets -------------

def filter_log_events(logs: Any, group: str, start_ms: int, end_ms: int | None, pattern: str | None,
                      token: str | None = None, limit: int = 1000) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a log group's events in [start, end]; the next page's token or None."""
    args: dict[str, Any] = {"logGroupName": group, "startTime": start_ms, "limit": limit}
    if end_ms is not None:
        args["endTime"] = end_ms
    if pattern:
        args["filterPattern"] = pattern
    if token:
        args["nextToken"] = token
    try:
        page = logs.filter_log_events(**args)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return [], None
        raise
    return list(page.get("events", [])), page.get("nextToken")


def log_group_arn(logs: Any, group: str) -> str | None:
    for g in logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", []):
        if g["logGroupName"] == group:
            return str(g["arn"]).removesuffix(":*")
    return None


def start_live_tail(logs: Any, group_arn: str, pattern: str | None) -> Any:
    """The live-tail event stream; raises ClientError/BotoCoreError where the endpoint lacks it."""
    args: dict[str, Any] = {"logGroupIdentifiers": [group_arn]}
    if pattern:
        args["logEventFilterPattern"] = pattern
    return logs.start_live_tail(**args)["responseStream"]


def stack_physical_ids(cf: Any, stack_name: str) -> dict[str, str]:
    """Logical id -> physical id of a stack's resources (empty when the stack is absent)."""
    try:
        found = cf.describe_stack_resources(StackName=stack_name)["StackResources"]
    except ClientError as exc:
        if "does not exist" in error_message(exc):
            return {}
        raise
    return {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in found}


def describe_services(ecs: Any, cluster: str, services: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(0, len(services), 10):  # DescribeServices takes ten at a time
        out += ecs.describe_services(cluster=cluster, services=services[i:i + 10]).get("services", [])
    return out


def task_definition_images(ecs: Any, arn: str) -> list[str]:
    td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return [c.get("image", "") for c in td.get("containerDefinitions", [])]


def target_health(elbv2: Any, target_group_arn: str) -> list[str]:
    """The state of each registered target (healthy, unhealthy, initial, draining, ...)."""
    found = elbv2.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
    return [d.get("TargetHealth", {}).get("State", "unknown") for d in found]


def alarm_states(cloudwatch: Any, names: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(0, len(names), 100):
        for a in cloudwatch.describe_alarms(AlarmNames=names[i:i + 100]).get("MetricAlarms", []):
            out[a["AlarmName"]] = a["StateValue"]
    return out


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


def secret_exists(secretsmanager: Any, arn: str) -> bool:
    try:
        secretsmanager.describe_secret(SecretId=arn)
        return True
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return False
        raise


# --- regions and the origin secret (issue 8: the edge stack in us-east-1, public-alb) --------------

def delete_parameter(ssm: Any, name: str) -> bool:
    """True if it existed."""
    try:
        ssm.delete_parameter(Name=name)
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
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


# --- --wake and the price refresh (cost) ----------------------------------------------------------

def wake_clients(clients: Clients) -> tuple[Any, Any]:
    """ECS and Application Auto Scaling clients, made like every other client of this session."""
    return clients._client("ecs"), clients._client("application-autoscaling")


def stack_resource(cf: Any, stack_name: str, logical_id: str) -> str | None:
    """A resource's physical id (an ECS service's ARN), or None when the stack or resource is absent."""
    try:
        found = cf.describe_stack_resource(StackName=stack_name, LogicalResourceId=logical_id)
    except ClientError as exc:
        if error_code(exc) == "ValidationError":
            return None
        raise
    return found["StackResourceDetail"].get("PhysicalResourceId")


def scalable_target(aas: Any, resource_id: str) -> dict[str, Any] | None:
    found = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource_id],
                                          ScalableDimension="ecs:service:DesiredCount")["ScalableTargets"]
    return found[0] if found else None


def set_scalable_floor(aas: Any, resource_id: str, minimum: int, maximum: int) -> None:
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=resource_id,
                                 ScalableDimension="ecs:service:DesiredCount", MinCapacity=minimum,
                                 MaxCapacity=maximum)


def set_desired_count(ecs: Any, cluster: str, service: str, count: int) -> None:
    ecs.update_service(cluster=cluster, service=service, desiredCount=count)


def pricing_client(clients: Clients) -> Any:
    return clients._client("pricing")


def price_list(pricing: Any, service_code: str, filters: dict[str, str]) -> list[str]:
    """Every GetProducts entry (JSON text) matching TERM_MATCH filters; the Price List API's region is us-east-1."""
    pages = pricing.get_paginator("get_products").paginate(
        ServiceCode=service_code, FormatVersion="aws_v1",
        Filters=[{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()])
    return [item for page in pages for item in page["PriceList"]]
