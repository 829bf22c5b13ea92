"""The only module that calls AWS. Every function takes the client it needs as its first argument.

boto3 is imported here and nowhere on the synth path. Clients use botocore's adaptive retry mode,
so throttling with several stacks in flight slows the run down instead of failing it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

import boto3
import botocore.loaders
import botocore.session
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


# One botocore data loader per data path for every session of the process. A session's own loader
# lists botocore's data folder again (some 500 folders, stat'ed one by one) for each kind of model it
# loads, and parses each model again: about 0.1 s of CPU per session, and a run has one per region.
_LOADERS: dict[str | None, botocore.loaders.Loader] = {}
_LOADERS_LOCK = threading.Lock()


def _session(region: str, profile: str | None) -> boto3.session.Session:
    core = botocore.session.get_session()
    if profile is not None:
        core.set_config_variable("profile", profile)
    path = core.get_config_variable("data_path")  # AWS_DATA_PATH, as the session's own loader reads it
    with _LOADERS_LOCK:
        loader = _LOADERS.setdefault(path, botocore.loaders.create_loader(path))
        core.register_component("data_loader", loader)
        session = boto3.session.Session(botocore_session=core, region_name=region, profile_name=profile)
        loader.search_paths[:] = dict.fromkeys(loader.search_paths)  # boto3 appends its folder per session
    return session


class Clients:
    """One boto3 session; clients made on first use (each costs tens of milliseconds)."""

    def __init__(self, region: str, profile: str | None = None) -> None:
        self.session = _session(region, profile)
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






# --- Day two (issue 11): logs, rollout state, target health, alarms, releases, secrets -------------


def stack_physical_ids(cf: Any, stack_name: str) -> dict[str, str]:
    """Logical id -> physical id of a stack's resources (empty when the stack is absent)."""
    try:
        found = cf.describe_stack_resources(StackName=stack_name)["StackResources"]
    except ClientError as exc:
        if "does not exist" in error_message(exc):
            return {}
        raise
    return {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in found}



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


def pricing_client(clients: Clients) -> Any:
    return clients._client("pricing")


# --- --execute (ci): what a planned change set really holds ----------------------------------------

def change_set_template(cf: Any, stack_name: str, change_set_id: str) -> dict[str, Any]:
    """The template a change set was made from, as submitted: its Description is the creator's word."""
    body = cf.get_template(StackName=stack_name, ChangeSetName=change_set_id, TemplateStage="Original")["TemplateBody"]
    return json.loads(body) if isinstance(body, str) else dict(body)


# A change-set name deploy.py never gives (--change-set-name could, but only on purpose), asked for as a probe.
PROBE_CHANGE_SET = "no-such-change-set-deploy-py-probe"


def templates_by_change_set(cf: Any, stack_name: str) -> bool:
    """Whether the endpoint answers GetTemplate for the change set named: asked for one that does not
    exist, AWS fails (ChangeSetNotFound); an endpoint that ignores ChangeSetName (stock moto) answers the
    stack's own template, and then no change set's template can be verified there."""
    try:
        cf.get_template(StackName=stack_name, ChangeSetName=PROBE_CHANGE_SET, TemplateStage="Original")
    except ClientError:
        return True
    return False
