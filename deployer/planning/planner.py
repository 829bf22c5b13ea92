"""Pure decisions: which stacks in which order, what to ask CloudFormation for, what a status means.

No AWS calls and no printing here. The runner feeds raw describe_* answers in; this module turns
them into kinds, rows and arguments that the commands act on and the report prints.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from deployer.planning.diff import PropertyChange, from_details, has_values
from generators.contract import AWS_PUBLIC_PREFIX, Contract, launch_order
from generators.naming import EXPLICIT_STACKS, is_image_tag_param, stack_name

# CloudFormation rejects a TemplateBody above this many bytes (UTF-8); larger ones need TemplateURL.
TEMPLATE_BODY_LIMIT = 51_200
CHANGE_SET_PREFIX = "deploy-py"
RUN_PREFIX = f"{CHANGE_SET_PREFIX}-run-"
# CreateChangeSet's own rule for ChangeSetName: a letter, then letters, digits and hyphens; 128 at most.
CHANGE_SET_NAME = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")
DIGEST_MARK = "sha256="
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM")
NO_CHANGES_REASONS = ("didn't contain changes", "No updates are to be performed")


class Kind(StrEnum):
    """What a raw status means for us. Change sets: the first four (Sceptre's); stacks: the rest."""

    READY = "ready"  # change set executable
    PENDING = "pending"  # change set or stack operation still running
    NO_CHANGES = "no-changes"  # empty change set: success, delete it
    DEFUNCT = "defunct"  # change set failed or already used
    ABSENT = "absent"  # no stack (never created, or deleted)
    STABLE = "stable"  # last operation succeeded; can be updated
    ROLLED_BACK = "rolled-back"  # last update failed and rolled back; can be updated
    RECREATE = "recreate"  # failed first create: only deleting it helps
    STUCK = "stuck"  # needs a human (continue-update-rollback, failed delete)


_STACK_KINDS: dict[str, Kind] = {
    "CREATE_COMPLETE": Kind.STABLE,
    "UPDATE_COMPLETE": Kind.STABLE,
    "IMPORT_COMPLETE": Kind.STABLE,
    "UPDATE_ROLLBACK_COMPLETE": Kind.ROLLED_BACK,
    "IMPORT_ROLLBACK_COMPLETE": Kind.ROLLED_BACK,
    "DELETE_COMPLETE": Kind.ABSENT,
    "ROLLBACK_COMPLETE": Kind.RECREATE,
    "ROLLBACK_FAILED": Kind.RECREATE,
    "CREATE_FAILED": Kind.RECREATE,
    "REVIEW_IN_PROGRESS": Kind.RECREATE,
    "UPDATE_ROLLBACK_FAILED": Kind.STUCK,
    "DELETE_FAILED": Kind.STUCK,
    "IMPORT_ROLLBACK_FAILED": Kind.STUCK,
    "UPDATE_FAILED": Kind.STUCK,
}


def classify(
    what: Literal["stack", "change-set"], status: str | None, execution: str = "", reason: str = ""
) -> Kind:
    """Reduce CloudFormation's many stack and change-set statuses to the few kinds we act on."""
    if what == "change-set":
        if status in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
            return Kind.PENDING
        if status == "FAILED" and any(r in reason for r in NO_CHANGES_REASONS):
            return Kind.NO_CHANGES
        if status == "CREATE_COMPLETE" and execution == "AVAILABLE":
            return Kind.READY
        if execution in ("EXECUTE_IN_PROGRESS",):
            return Kind.PENDING
        return Kind.DEFUNCT
    if status is None:
        return Kind.ABSENT
    if status in _STACK_KINDS:
        return _STACK_KINDS[status]
    # REVIEW_IN_PROGRESS is handled above: it is a create that never ran, not an operation to wait for.
    return Kind.PENDING if status.endswith("_IN_PROGRESS") else Kind.STUCK


UPDATABLE = (Kind.STABLE, Kind.ROLLED_BACK)


@dataclass(frozen=True)
class StackPlan:
    stack: str  # name in the configuration: infrastructure, app-api, ...
    stack_name: str  # CloudFormation stack name: <prefix>-<stack>
    path: Path
    body: str
    reads: Mapping[str, str]  # template parameter -> SSM path
    region: str = ""  # where the stack lives; "" = the environment's region

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body.encode("utf-8")).hexdigest()

    @property
    def size(self) -> int:
        return len(self.body.encode("utf-8"))

    @property
    def image_tag_reads(self) -> dict[str, str]:
        return {k: p for k, p in self.reads.items() if is_image_tag_param(p)}


@dataclass(frozen=True)
class Plan:
    batches: list[list[str]]
    stacks: dict[str, StackPlan]
    contract: Contract

    @property
    def order(self) -> list[str]:
        return [s for batch in self.batches for s in batch]


def make_plan(
    contract: Contract, prefix: str, selected: list[str], files: Mapping[str, Path], bodies: Mapping[str, str],
    regions: Mapping[str, str] | None = None,
) -> Plan:
    """`regions`: stacks that live outside the environment's region (generators.synth.stack_regions)."""
    where = regions or {}
    stacks = {
        s: StackPlan(s, stack_name(prefix, s), files[s], bodies[s], dict(contract.reads[s]), where.get(s, ""))
        for s in selected
    }
    return Plan(launch_order(contract, selected), stacks, contract)


def select_stacks(requested: list[str], known: list[str]) -> tuple[list[str], list[str]]:
    """(selected stacks in configuration order, unknown names). `all` selects every stack but the
    explicit ones (`ci`: the pipelines' identity is changed by an administrator, never in passing)."""
    if "all" in requested:
        return [s for s in known if s not in EXPLICIT_STACKS or s in requested], \
            [r for r in requested if r != "all" and r not in known]
    unknown = [r for r in requested if r not in known]
    return [s for s in known if s in requested], unknown


@dataclass(frozen=True)
class Missing:
    path: str
    reader: str
    writer: str | None  # None: an image tag, written by --publish / --set-image-tag


def missing_parameters(plan: Plan, existing: set[str], provided: set[str] = frozenset()) -> list[Missing]:
    """SSM paths a selected stack reads that neither exist nor get written earlier in this run."""
    deployed_before: set[str] = set()
    missing: list[Missing] = []
    for batch in plan.batches:
        for stack in batch:
            for path in plan.stacks[stack].reads.values():
                writer = plan.contract.writer.get(path)
                # AWS's public parameters (the latest AMI) exist wherever the service does.
                if path in existing or path in provided or writer in deployed_before or \
                        path.startswith(AWS_PUBLIC_PREFIX):
                    continue
                missing.append(Missing(path, stack, writer))
        deployed_before |= set(batch)
    return sorted(set(missing), key=lambda m: (m.path, m.reader))


def image_service(path: str) -> str:
    """`/<prefix>/<service>/image-tag` -> service: the repository is named after the same service."""
    return path.strip("/").split("/")[-2]


def change_set_name_problem(name: str) -> str | None:
    """Why CloudFormation would reject `name` as a change-set name, or None."""
    if CHANGE_SET_NAME.fullmatch(name):
        return None
    return (f"{name!r} is not a valid change set name — start with a letter, then only letters, digits and "
            "hyphens, 128 characters at most")


@dataclass(frozen=True)
class Naming:
    """The name this run gives its change sets, and how --execute finds the ones a plan left."""

    name: str
    exact: bool = False  # --change-set-name: --execute takes that name and no other
    run: str | None = None  # GITHUB_RUN_ID: --execute takes this workflow run's plan
    attempt: int = 1

    @property
    def chosen(self) -> bool:
        """A name that can recur (not a timestamp): a change set left under it is replaced."""
        return self.exact or self.run is not None


def naming(explicit: str | None, environ: Mapping[str, str], stamp: str) -> Naming:
    """--change-set-name, else one derived from the GitHub Actions run, else deploy-py-<timestamp>.

    A workflow's plan job and its (approved, later) execute job share GITHUB_RUN_ID, so they pair up
    without passing anything, and a pull request's plan made in between (another run) is never taken.
    """
    if explicit:
        return Naming(explicit, exact=True)
    run = environ.get("GITHUB_RUN_ID", "").strip()
    if not run:
        return Naming(f"{CHANGE_SET_PREFIX}-{stamp}")
    attempt = environ.get("GITHUB_RUN_ATTEMPT", "1").strip()
    number = int(attempt) if attempt.isdigit() else 1
    return Naming(f"{RUN_PREFIX}{run}-{number}", run=run, attempt=number)


def pick_planned(n: Naming, summaries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The change set --execute should run, from a stack's list_change_sets summaries (None: no plan)."""
    def newest(found: list[dict[str, Any]]) -> dict[str, Any] | None:
        return max(found, key=lambda c: c["CreationTime"], default=None)

    if n.exact:
        return newest([c for c in summaries if c["ChangeSetName"] == n.name])
    if n.run is None:
        return newest([c for c in summaries if c["ChangeSetName"].startswith(CHANGE_SET_PREFIX)])
    # "Re-run failed jobs" re-runs only the execute job, as attempt N+1: the plan it was approved
    # for is the latest attempt's up to this one.
    own = re.compile(re.escape(f"{RUN_PREFIX}{n.run}-") + r"(\d+)")
    attempts = [(int(m.group(1)), c) for c in summaries if (m := own.fullmatch(c["ChangeSetName"]))]
    eligible = [(a, c) for a, c in attempts if a <= n.attempt]
    return max(eligible, key=lambda p: (p[0], p[1]["CreationTime"]))[1] if eligible else None


def change_set_args(
    sp: StackPlan, name: str, change_set_type: str, tags: Mapping[str, str], template_url: str | None,
    role_arn: str | None = None,
) -> dict[str, Any]:
    """Arguments for create_change_set. The digest in Description lets --execute refuse a stale plan.
    `role_arn`: the ci stack's CloudFormation role, which then acts for this and every later operation."""
    source = {"TemplateURL": template_url} if template_url else {"TemplateBody": sp.body}
    if role_arn:
        source["RoleARN"] = role_arn
    return {
        "StackName": sp.stack_name,
        "ChangeSetName": name,
        "ChangeSetType": change_set_type,
        "Capabilities": list(CAPABILITIES),
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        "Description": f"deploy.py {sp.stack} {DIGEST_MARK}{sp.digest}",
        **source,
    }


def stack_tags(project: str, env: str, stack: str) -> dict[str, str]:
    return {"project": project, "environment": env, "stack": stack}


def digest_of(description: str | None) -> str | None:
    if not description or DIGEST_MARK not in description:
        return None
    return description.split(DIGEST_MARK, 1)[1].split()[0]


@dataclass(frozen=True)
class ChangeRow:
    action: str
    logical_id: str
    resource_type: str
    replacement: str
    properties: tuple[PropertyChange, ...] = ()  # Modify only: what changes inside the resource
    has_values: bool = False  # the endpoint gave property values (else the review diffs templates)

    @property
    def dangerous(self) -> bool:
        return self.action == "Remove" or self.replacement in ("True", "Conditional")

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "logical_id": self.logical_id, "type": self.resource_type,
                "replacement": self.replacement, "properties": [p.to_dict() for p in self.properties]}


def change_rows(changes: list[dict[str, Any]]) -> list[ChangeRow]:
    """One row per resource; a Modify row's properties from the details DescribeChangeSet gave
    with IncludePropertyValues (when the endpoint gave none, the review fills them in from templates)."""
    rows = []
    for change in changes:
        rc = change.get("ResourceChange", {})
        # Replacement is only reported for Modify; Add and Remove have none.
        replacement = rc.get("Replacement") or "-"
        valued = rc.get("Action") == "Modify" and has_values(change)
        rows.append(ChangeRow(rc.get("Action", "?"), rc.get("LogicalResourceId", "?"),
                              rc.get("ResourceType", "?"), replacement,
                              tuple(from_details(rc.get("Details", []))) if valued else (), valued))
    return rows


def destroy_blockers(plan: Plan, deployed: set[str]) -> dict[str, list[str]]:
    """Stack -> deployed readers that are not being destroyed with it (they would lose their inputs)."""
    selected = set(plan.stacks)
    blockers: dict[str, list[str]] = {}
    for stack in plan.stacks:
        still = sorted((plan.contract.readers(stack) & deployed) - selected)
        if still:
            blockers[stack] = still
    return blockers


@dataclass
class Poller:
    """Delays between polls: the first within a second, growing, never above five seconds."""

    first: float = 0.1
    factor: float = 1.6
    cap: float = 5.0
    _next: float = field(default=0.0, init=False)

    def next_delay(self) -> float:
        self._next = self.first if self._next == 0.0 else min(self._next * self.factor, self.cap)
        return self._next
