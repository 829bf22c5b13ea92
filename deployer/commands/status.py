"""`--status`: one line per stack — CloudFormation status, last update, and for service stacks the
image tag deployed versus the tag now in SSM (what the next deploy would roll out); then per
service its ECS rollout, target health and alarm states (rollout.py). `--watch` redraws it in
place until every rollout has settled.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

from deployer.aws import storage
from deployer.commands import preflight, rollout
from deployer.commands.deploy import EXIT_OK, Options, all_stack_names, connect, prepare
from deployer.presentation.report import table, to_json
from generators.naming import is_image_tag_param
from generators.schedule_config import describe_next


def deployed_value(stack: dict[str, Any], key: str) -> str | None:
    """The value a stack was deployed with: AWS reports SSM-typed parameters in ResolvedValue,
    moto puts the resolved value straight into ParameterValue."""
    for p in stack.get("Parameters", []):
        if p["ParameterKey"] == key:
            return str(p.get("ResolvedValue", p.get("ParameterValue")))
    return None


WATCH_SECONDS = 5.0
HOME_AND_CLEAR = "\x1b[H\x1b[2J"


def status(opts: Options, watch: bool = False) -> int:
    s = prepare(opts, need_stacks=False)
    clients = connect(s, opts)
    preflight.identity(clients, s.cfg)
    while True:
        if watch:
            sys.stdout.write(HOME_AND_CLEAR)
        services = _once(s, clients, opts)
        if not watch or rollout.settled(services):
            return EXIT_OK
        s.report.line(f"(refreshing every {WATCH_SECONDS:.0f} s until the rollouts settle; Ctrl-C stops watching)")
        time.sleep(WATCH_SECONDS)


def _once(s: Any, clients: Any, opts: Options) -> list[dict[str, Any]]:
    names = all_stack_names(s)
    states = preflight.stack_states(clients, names, s.regions)  # edge is asked in us-east-1
    tag_paths = {st: dict(s.contract.reads[st]) for st in names}
    ssm_now = storage.get_parameters(clients.ssm, [p for reads in tag_paths.values() for p in reads.values()])
    rows, docs = [], []
    for st, name in names.items():
        tags = {k: p for k, p in s.contract.external_reads(st).items() if is_image_tag_param(p)}
        doc = _line(st, name, states[st], tags, ssm_now)
        docs.append(doc)
        rows.append([st, doc["status"], doc["last_update"] or "-", doc["image"] or ""])
    deployed = {d["stack"]: d["stack_name"] for d in docs if d["status"] != "absent"}
    services = rollout.gather(clients, s.cfg, deployed)
    # Working hours: computed from the configuration, no AWS call (a --wake lasts until the next sleep).
    schedule = describe_next(s.cfg.env.schedule, datetime.now(UTC)) if s.cfg.env.schedule else None
    if opts.output == "json":
        print(to_json({"command": "status", "env": s.cfg.env.name, "prefix": s.cfg.prefix, "stacks": docs,
                       "schedule": schedule, "services": services}))
        return services
    for line in table(["stack", "status", "last update", "image tag"], rows):
        s.report.line(line)
    if schedule:
        s.report.line(f"schedule: services {schedule}")
    tags = {d["stack"]: d.get("ssm_tag") for d in docs}
    for doc in services:
        for line in rollout.lines(doc, tags.get(doc["service"])):
            s.report.line(line)
    return services


def _line(st: str, name: str, state: dict[str, Any] | None, tag_reads: dict[str, str],
          ssm_now: dict[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = {"stack": st, "stack_name": name, "status": state["StackStatus"] if state else "absent",
                           "last_update": None, "image": None}
    if state:
        doc["last_update"] = str(state.get("LastUpdatedTime") or state.get("CreationTime"))[:19]
    for key, path in tag_reads.items():
        deployed = deployed_value(state, key) if state else None
        now = ssm_now.get(path)
        doc.update(deployed_tag=deployed, ssm_tag=now, tag_pending=bool(deployed and now and deployed != now))
        if deployed and now and deployed != now:
            doc["image"] = f"deployed {deployed} ≠ SSM tag {now} (deploy {st} to roll it out)"
        else:
            doc["image"] = f"{deployed or '-'} (SSM: {now or 'unset'})"
    return doc
