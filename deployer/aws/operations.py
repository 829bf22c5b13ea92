"""Day-two reads and writes on running services: logs, rollout state, target health, alarms, scaling."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from deployer.aws.runner import error_code


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


def price_list(pricing: Any, service_code: str, filters: dict[str, str]) -> list[str]:
    """Every GetProducts entry (JSON text) matching TERM_MATCH filters; the Price List API's region is us-east-1."""
    pages = pricing.get_paginator("get_products").paginate(
        ServiceCode=service_code, FormatVersion="aws_v1",
        Filters=[{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()])
    return [item for page in pages for item in page["PriceList"]]
