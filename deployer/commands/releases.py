"""`--releases SERVICE` and `--rollback SERVICE [--to TAG|VERSION]`.

The image-tag parameter's version history (/<prefix>/<service>/image-tag) is the release history:
every --publish and --set-image-tag writes a version. A rollback writes an earlier tag as a new
version (so the history records it too) and deploys the service's stack through the usual change
set, review and confirmation; declined, the tag is put back as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deployer.aws import runner, storage
from deployer.errors import UsageError
from generators.naming import IMAGE_TAG_KEY, repository_name, service_param, stack_name


@dataclass(frozen=True)
class Release:
    version: int
    tag: str
    when: str
    who: str
    in_ecr: bool
    deployed: bool = False
    current: bool = False  # the newest version: what the next deploy rolls out

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "tag": self.tag, "when": self.when, "who": self.who,
                "image_in_ecr": self.in_ecr, "deployed": self.deployed, "current": self.current}


def deployed_tag(stack: dict[str, Any] | None) -> str | None:
    """The ImageTag the service's stack was last deployed with (AWS: ResolvedValue; moto: the value)."""
    for p in (stack or {}).get("Parameters", []):
        if p["ParameterKey"] == "ImageTag":
            return str(p.get("ResolvedValue", p.get("ParameterValue")))
    return None


def load_releases(clients: runner.Clients, prefix: str, service: str) -> list[Release]:
    """Oldest first; the deployed mark goes to the newest version carrying the deployed tag."""
    history = storage.parameter_history(clients.ssm, service_param(prefix, service, IMAGE_TAG_KEY))
    tags = storage.existing_image_tags(clients.ecr, repository_name(prefix, service))
    live = deployed_tag(runner.describe_stack(clients.cf, stack_name(prefix, service)))
    deployed_version = max((int(h["Version"]) for h in history if h["Value"] == live), default=None)
    newest = max((int(h["Version"]) for h in history), default=None)
    return [Release(version=int(h["Version"]), tag=h["Value"], when=str(h.get("LastModifiedDate", ""))[:19],
                    who=writer(str(h.get("LastModifiedUser", ""))),
                    in_ecr=h["Value"] in tags, deployed=int(h["Version"]) == deployed_version,
                    current=int(h["Version"]) == newest) for h in history]


def writer(user: str) -> str:
    """Who wrote a version: `alice` for an IAM user's ARN, `Role/session` for an assumed role's;
    anything that is not an ARN (an emulator's "N/A") as it is."""
    if not user.startswith("arn:"):
        return user or "-"
    resource = user.split(":", 5)[-1]  # user/alice, assumed-role/Role/session
    return resource.split("/", 1)[-1] or "-"


def choose_target(releases: list[Release], service: str, to: str | None) -> Release:
    """The release a rollback goes to: the named one, or the newest earlier one with another tag
    whose image still exists. UsageError (nothing changed) when there is none."""
    if not releases:
        raise UsageError(f"{service} has no releases (no image-tag parameter history) — nothing to roll back to; "
                         f"publish one with python deploy.py --publish {service}")
    current = releases[-1]
    if to is None:
        earlier = [r for r in reversed(releases[:-1]) if r.tag != current.tag]
        usable = [r for r in earlier if r.in_ecr]
        if not usable:
            gone = f" ({len(earlier)} earlier release(s) whose images are gone from ECR)" if earlier else ""
            raise UsageError(f"{service}: no earlier release to roll back to{gone} — see python deploy.py "
                             f"--releases {service}")
        return usable[0]
    by_version = [r for r in releases if to.isdigit() and r.version == int(to)]
    by_tag = [r for r in reversed(releases) if r.tag == to]
    found = (by_version or by_tag or [None])[0]
    if found is None:
        versions = f"versions 1..{current.version}" if releases else "no versions"
        raise UsageError(f"{service}: no release {to!r} (expected a tag or a version number; {versions}) — see "
                         f"python deploy.py --releases {service}")
    if not found.in_ecr:
        raise UsageError(f"{service}: the image of release {found.version} (tag {found.tag!r}) is no longer in ECR "
                         f"repository {service} — choose another with --to (see --releases {service})")
    return found


def release_rows(releases: list[Release]) -> list[list[str]]:
    rows = []
    for r in reversed(releases):  # newest first, like any release list
        marks = [m for m, on in (("deployed", r.deployed), ("current (SSM)", r.current)) if on]
        rows.append([str(r.version), r.tag, r.when or "-", r.who, "yes" if r.in_ecr else "GONE", ", ".join(marks)])
    return rows
