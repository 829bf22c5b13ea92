"""`--status`: one line per stack — CloudFormation status, last update, and for service stacks the
image tag deployed versus the tag now in SSM (what the next deploy would roll out); then per
service its ECS rollout, target health and alarm states (rollout.py). `--watch` redraws it in
place until every rollout has settled.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import IO, Any

from deployer.aws import runner, storage
from deployer.commands import preflight, rollout
from deployer.commands.deploy import EXIT_OK, Options, Session, all_stack_names, connect, prepare
from deployer.errors import UsageError
from deployer.planning.executor import concurrently
from deployer.planning.planner import make_plan, select_stacks
from deployer.presentation.report import Reporter, table, to_json
from generators.config import load_config
from generators.contract import build_contract
from generators.naming import is_image_tag_param
from generators.schedule_config import describe_next
from generators.template_files import committed, pinned_regions, template_dir, written_templates


def deployed_value(stack: dict[str, Any], key: str) -> str | None:
    """The value a stack was deployed with: AWS reports SSM-typed parameters in ResolvedValue,
    moto puts the resolved value straight into ParameterValue."""
    for p in stack.get("Parameters", []):
        if p["ParameterKey"] == key:
            return str(p.get("ResolvedValue", p.get("ParameterValue")))
    return None


WATCH_SECONDS = 5.0
HOME, ERASE_BELOW, ERASE_LINE = "\x1b[H", "\x1b[J", "\x1b[K"


def status(opts: Options, watch: bool = False) -> int:
    s = read_only_session(opts)
    clients = connect(s, opts)
    preflight.identity(clients, s.cfg)
    if not watch:
        _show(s, opts, *_fetch(s, clients))
        return EXIT_OK
    try:
        return _watch(s, opts, clients)
    except KeyboardInterrupt:  # the way a watch is ended early: not a failure
        sys.stdout.write("\n")
        return EXIT_OK


def _watch(s: Session, opts: Options, clients: runner.Clients) -> int:
    """Redraw in place, like watch(1): each frame is read whole first (no blank screen while AWS
    answers), then written from the top-left corner over the last one."""
    screen, s.report.out = s.report.out, io.StringIO()
    screen.write(HOME + ERASE_BELOW)
    while True:
        docs, services = _fetch(s, clients)
        frame = s.report.out = io.StringIO()
        _show(s, opts, docs, services)
        done = rollout.settled(services)
        if not done:
            s.report.line(f"(refreshing every {WATCH_SECONDS:.0f} s until the rollouts settle; Ctrl-C stops watching)")
        _draw(screen, frame.getvalue())
        if done:
            return EXIT_OK
        time.sleep(WATCH_SECONDS)


def _draw(screen: IO[str], frame: str) -> None:
    """Home, each line over the old one (erasing the rest of it), then erase what the last frame
    had below. Cut to the terminal's height: a taller frame would scroll, and pile up."""
    lines = frame.splitlines()
    try:
        rows = os.get_terminal_size(screen.fileno()).lines
    except (OSError, ValueError):
        rows = 0
    if rows > 1 and len(lines) >= rows:
        lines = [*lines[:rows - 2], f"... {len(lines) - rows + 2} more lines (a taller terminal shows them)"]
    screen.write(HOME + "".join(f"{line}{ERASE_LINE}\n" for line in lines) + ERASE_BELOW)
    screen.flush()


def read_only_session(opts: Options) -> Session:
    """The stacks and their SSM contract as the committed templates describe them (reviewed, and
    kept equal to the generators' output by the golden test), read without importing a generator.
    Generated, as for a deploy, for any other configuration (build/ is shared by every
    configuration with that environment and prefix) or when the files cannot be read."""
    cfg = load_config(opts.config, opts.env, opts.prefix)
    try:
        texts = written_templates(cfg) if committed(cfg) else {}
        contract = build_contract({st: json.loads(text) for st, text in texts.items()})
    except (OSError, ValueError):  # ContractError is a ValueError: prepare() names the problem
        texts = {}
    if not texts:
        return prepare(opts, need_stacks=False)
    selected, unknown = select_stacks(opts.stacks, list(texts))
    if unknown:
        raise UsageError(f"unknown stack {', '.join(unknown)} — choose from: all, {', '.join(texts)}")
    report = Reporter(opts.region or cfg.env.region, json_mode=opts.output == "json")
    report.emulated = opts.local
    where = pinned_regions(list(texts), opts.region or cfg.env.region)
    files = {st: template_dir(cfg) / f"{st}.json" for st in texts}
    return Session(cfg, make_plan(contract, cfg.prefix, selected, files, texts, where), contract, report,
                   regions=where)


def _fetch(s: Session, clients: runner.Clients) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every stack's state, the image tags in SSM and every service's rollout, asked side by side:
    the time of the slowest (rollout.gather's three round trips), not of the sum."""
    names = all_stack_names(s)
    tag_reads = {st: {k: p for k, p in s.contract.external_reads(st).items() if is_image_tag_param(p)}
                 for st in names}
    calls: dict[str, Callable[[], Any]] = {  # made here, in one thread: each client before any call uses it
        st: partial(runner.describe_stack, clients.for_region(s.regions.get(st)).cf, name)  # edge: us-east-1
        for st, name in names.items()}
    tags: Callable[[], Any] = partial(storage.get_parameters, clients.ssm,
                                      [p for r in tag_reads.values() for p in r.values()])
    # A service stack that is absent has no resources: gather leaves it out, so it need not wait for the states.
    services: Callable[[], Any] = partial(rollout.gather, clients, s.cfg, {n: names[n] for n in names})
    found = concurrently({**{("stack", st): call for st, call in calls.items()},
                          ("tags", ""): tags, ("services", ""): services})
    docs = [_line(st, name, found["stack", st], tag_reads[st], found["tags", ""]) for st, name in names.items()]
    return docs, found["services", ""]


def _show(s: Session, opts: Options, docs: list[dict[str, Any]], services: list[dict[str, Any]]) -> None:
    # Working hours: computed from the configuration, no AWS call (a --wake lasts until the next sleep).
    schedule = describe_next(s.cfg.env.schedule, datetime.now(UTC)) if s.cfg.env.schedule else None
    if opts.output == "json":
        print(to_json({"command": "status", "env": s.cfg.env.name, "prefix": s.cfg.prefix, "stacks": docs,
                       "schedule": schedule, "services": services}))
        return
    rows = [[d["stack"], d["status"], d["last_update"] or "-", d["image"] or ""] for d in docs]
    for line in table(["stack", "status", "last update", "image tag"], rows):
        s.report.line(line)
    if schedule:
        s.report.line(f"schedule: services {schedule}")
    tags = {d["stack"]: d.get("ssm_tag") for d in docs}
    for doc in services:
        for line in rollout.lines(doc, tags.get(doc["service"])):
            s.report.line(line)


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
