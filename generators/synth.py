"""Configuration in, one sorted JSON template per stack out: the `deploy.py --synth` command."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from troposphere import Template

from .alerts import build_alerts
from .auth import build_auth
from .ci import build_ci
from .config import Config
from .frontend import build_frontend
from .infrastructure import build_infrastructure
from .registry import build_registry
from .service import build_service
from .template_files import REPO_ROOT, pinned_regions, template_dir
from .waf import build_edge

BuildFn = Callable[[Config], Template]


def stack_builders(cfg: Config) -> dict[str, BuildFn]:
    """Every stack of the configuration, foundation first; one entry per configured service."""
    builders: dict[str, BuildFn] = {
        "infrastructure": build_infrastructure,
        "registry": build_registry,
    }
    for svc in cfg.services:
        builders[svc.name] = lambda c, s=svc: build_service(c, s)
    if cfg.env.waf.enabled:  # the web ACL, in us-east-1 (stack_regions); the frontend reads its ARN
        builders["edge"] = build_edge
    builders["frontend"] = build_frontend
    if cfg.env.auth.enabled:  # provider "off": no identity provider, nothing to publish
        builders["auth"] = build_auth
    builders["alerts"] = build_alerts
    if cfg.ci is not None:  # deployed only when named: planner.select_stacks leaves it out of `all`
        builders["ci"] = build_ci
    return builders


def stack_regions(cfg: Config, region: str | None = None) -> dict[str, str]:
    """Stacks of this configuration that live outside the environment's region (`region`, default
    the configured one), and where; every other stack lives in the environment's region."""
    return pinned_regions(list(stack_builders(cfg)), region or cfg.env.region)


def render(cfg: Config) -> dict[str, str]:
    """Stack name -> template JSON text (sorted keys, so output is byte-stable)."""
    return {stack: to_json(build(cfg)) for stack, build in stack_builders(cfg).items()}


def to_json(template: Template) -> str:
    return json.dumps(template.to_dict(), indent=2, sort_keys=True) + "\n"


@dataclass
class SynthResult:
    directory: Path
    changed: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    diffs: dict[Path, str] = field(default_factory=dict)
    texts: dict[Path, str] = field(default_factory=dict)  # what the configuration generates, per file

    @property
    def stale(self) -> bool:
        return bool(self.changed or self.removed)


def synth(cfg: Config, check: bool = False, root: Path = REPO_ROOT) -> SynthResult:
    """Write (or with check=True, only compare) every template of one environment."""
    out = template_dir(cfg, root)
    rendered = {out / f"{stack}.json": text for stack, text in render(cfg).items()}
    result = SynthResult(directory=out, texts=rendered)
    for path, text in rendered.items():
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        if old == text:
            result.unchanged.append(path)
            continue
        result.changed.append(path)
        result.diffs[path] = "".join(
            difflib.unified_diff(old.splitlines(True), text.splitlines(True),
                                 f"{path} (committed)", f"{path} (generated)")
        )
    if out.exists():
        result.removed = sorted(p for p in out.glob("*.json") if p not in rendered)
    if not check:
        out.mkdir(parents=True, exist_ok=True)
        for path in result.changed:
            path.write_text(rendered[path], encoding="utf-8")
        for path in result.removed:
            path.unlink(missing_ok=True)  # under parallel tests another process may have removed it
    return result
