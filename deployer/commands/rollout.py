"""What ECS is doing with each service: deployments and their rollout, target health, alarm states.

Used by `--status` (and `--status --watch`, until every rollout settles) and after a deploy, to
name the alarm that rolled a release back (the deploy then exits 1).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from deployer.aws import operations, runner, storage
from deployer.planning.executor import concurrently
from generators.config import Config
from generators.naming import alarm_names, network_param, stack_name

SETTLED = ("COMPLETED", "FAILED")


def image_tag(image: str) -> str:
    return image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else "-"


def gather(clients: runner.Clients, cfg: Config, stacks: dict[str, str]) -> list[dict[str, Any]]:
    """One document per deployed service stack (the names in `stacks`), from ECS, ELB and CloudWatch.
    Three rounds of calls, each made side by side (stack resources, cluster and alarms; services and
    target health; task definitions): three round trips, whatever the number of services."""
    names = [svc.name for svc in cfg.services if svc.name in stacks]
    if not names:
        return []
    # Clients are made here, in one thread (a boto3 session is not safe to share while it makes them).
    ecs, elbv2, cw = clients.extra("ecs"), clients.extra("elbv2"), clients.extra("cloudwatch")
    cluster_key = network_param(cfg.prefix, "ecs-cluster-name")
    first: dict[tuple[str, str], Callable[[], Any]] = {
        ("ids", n): partial(runner.stack_physical_ids, clients.cf, stack_name(cfg.prefix, n)) for n in names}
    first["cluster", ""] = partial(storage.get_parameters, clients.ssm, [cluster_key])
    first["alarms", ""] = partial(operations.alarm_states, cw, [a for n in names for a in alarm_names(cfg.prefix, n)])
    got = concurrently(first)
    ids = {n: got["ids", n] for n in names if got["ids", n].get("Service")}
    if not ids:
        return []
    services, health = _services(ecs, elbv2, got["cluster", ""].get(cluster_key, ""), ids)
    images = task_images(ecs, services.values())
    return [service_doc(n, services[n], health.get(n, []), images,
                        {a: got["alarms", ""].get(a, "absent") for a in alarm_names(cfg.prefix, n)}) for n in ids]


def _services(ecs: Any, elbv2: Any, cluster: str, ids: dict[str, dict[str, str]]
              ) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Each service as ECS describes it ({} when gone) and its targets' health states."""
    calls: dict[str | None, Callable[[], Any]] = {
        n: partial(operations.target_health, elbv2, found["TargetGroup"]) for n, found in ids.items()
        if found.get("TargetGroup")}
    calls[None] = partial(operations.describe_services, ecs, cluster, [i["Service"] for i in ids.values()])
    answers = concurrently(calls)
    described = {s["serviceArn"]: s for s in answers.pop(None)}
    services = {n: described.get(found["Service"]) or next(
        (s for s in described.values() if s.get("serviceName") == found["Service"].rsplit("/", 1)[-1]), {})
        for n, found in ids.items()}
    return services, answers


def task_images(ecs: Any, services: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Task definition ARN -> the image tags it runs, for every deployment of these services."""
    arns = {d["taskDefinition"] for s in services for d in s.get("deployments", []) if d.get("taskDefinition")}
    found = concurrently({td: partial(operations.task_definition_images, ecs, td) for td in sorted(arns)})
    return {td: ",".join(image_tag(i) for i in images) for td, images in found.items()}


def service_doc(name: str, service: dict[str, Any], health: list[str], images: dict[str, str],
                alarms: dict[str, str]) -> dict[str, Any]:
    deployments = []
    for d in service.get("deployments", []):
        td = d.get("taskDefinition", "")
        deployments.append({"status": d.get("status"), "rollout": d.get("rolloutState", "-"),
                            "reason": d.get("rolloutStateReason", ""), "running": d.get("runningCount", 0),
                            "desired": d.get("desiredCount", 0), "pending": d.get("pendingCount", 0),
                            "image_tag": images.get(td, "-")})
    return {"service": name, "status": service.get("status", "absent"), "deployments": deployments,
            "targets": dict(Counter(health)), "alarms": alarms,
            "events": [e.get("message", "") for e in service.get("events", [])[:5]],
            "rolled_back_by": alarm_rollback(service, list(alarms))}


def settled(docs: list[dict[str, Any]]) -> bool:
    """Every service down to one deployment whose rollout is over (ECS without rollout state: one)."""
    return all(len(d["deployments"]) <= 1 and all(x["rollout"] in (*SETTLED, "-") for x in d["deployments"])
               for d in docs)


def alarm_rollback(service: dict[str, Any], names: list[str]) -> str | None:
    """The alarm(s) ECS named when it rolled a deployment back, or None. ECS says so in the failed
    deployment's rolloutStateReason and in the service events ("... rolled back ... alarm(s) ...")."""
    texts = [d.get("rolloutStateReason", "") for d in service.get("deployments", [])
             if d.get("rolloutState") == "FAILED"]
    texts += [e.get("message", "") for e in service.get("events", [])[:10]]
    for text in texts:
        if not re.search(r"alarm", text, re.IGNORECASE) or not re.search(r"roll", text, re.IGNORECASE):
            continue
        fired = [n for n in names if n in text]
        return ", ".join(fired) if fired else text.strip()
    return None


def lines(doc: dict[str, Any], ssm_tag: str | None) -> list[str]:
    out = [f"{doc['service']}: service {doc['status']}"]
    for d in doc["deployments"]:
        pending = f", {d['pending']} pending" if d["pending"] else ""
        mark = "" if ssm_tag is None or d["image_tag"] == ssm_tag else f" (SSM tag {ssm_tag})"
        reason = f" — {d['reason']}" if d["reason"] else ""
        out.append(f"  {str(d['status']).lower():<8} {d['rollout']:<12} {d['running']}/{d['desired']} running"
                   f"{pending}  image {d['image_tag']}{mark}{reason}")
    targets = ", ".join(f"{state} {n}" for state, n in sorted(doc["targets"].items())) or "none registered"
    out.append(f"  targets: {targets}")
    firing = [a for a, st in doc["alarms"].items() if st == "ALARM"]
    states = Counter(doc["alarms"].values())
    out.append("  alarms: " + ", ".join(f"{st} {n}" for st, n in sorted(states.items()))
               + (f" — firing: {', '.join(firing)}" if firing else ""))
    if doc["rolled_back_by"]:
        out.append(f"  rolled back by alarm: {doc['rolled_back_by']}")
    return out


def after_deploy(clients: runner.Clients, cfg: Config, executed: dict[str, str], code: int) -> tuple[int, list[str]]:
    """(exit code, error lines) once the change sets ran: a service stack whose ECS rollout was
    rolled back by one of its alarms fails the deploy (1), naming the alarm. `executed`: stack ->
    stack name of the service stacks a change set was executed for."""
    problems = [f"{d['service']}: the rollout was rolled back by alarm {d['rolled_back_by']} — the previous "
                f"release is running again; see python deploy.py --logs {d['service']} --since 30m"
                for d in gather(clients, cfg, executed) if d["rolled_back_by"]]
    return (1 if problems else code), problems
