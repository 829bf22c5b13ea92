"""Where a configuration's templates are written, and reading them back.

No troposphere here: a read-only command (`--status`) learns the stack set and the SSM contract
from the templates last written, in a few milliseconds, instead of importing every generator and
rendering them again (about a third of a second on a small machine).
"""

from __future__ import annotations

from pathlib import Path

from .config import DEFAULT_CONFIG, Config
from .naming import EDGE_REGION

REPO_ROOT = Path(__file__).resolve().parent.parent
# Stacks whose resources AWS accepts in one region only: CloudFront-scoped WAF web ACLs.
PINNED_REGIONS = {"edge": EDGE_REGION}


def committed(cfg: Config) -> bool:
    """The committed platform.toml with its own prefix: the only configuration templates/ holds."""
    return not cfg.prefix_overridden and cfg.source.resolve() == DEFAULT_CONFIG.resolve()


def template_dir(cfg: Config, root: Path = REPO_ROOT) -> Path:
    """Committed templates for the configured environments; the git-ignored build/ folder for anything
    else (an overridden --prefix, another --config file), so those never overwrite reviewed files."""
    if not committed(cfg):
        # <env>/<prefix>: neither may hold a slash, so no two configurations share a folder
        # (a joined "<env>-<prefix>" would give dev + a-b and dev-a + b the same one).
        return root / "build" / "templates" / cfg.env.name / cfg.prefix
    return root / "templates" / cfg.env.name


def pinned_regions(stacks: list[str], here: str) -> dict[str, str]:
    """Those of `stacks` that live outside the region `here`, and where."""
    return {s: r for s, r in PINNED_REGIONS.items() if s in stacks and r != here}


def written_templates(cfg: Config, root: Path = REPO_ROOT) -> dict[str, str]:
    """Stack -> template text, as the last --synth or deploy wrote them ({} when none was written)."""
    folder = template_dir(cfg, root)
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.json"))}
