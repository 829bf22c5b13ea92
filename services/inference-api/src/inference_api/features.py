"""Optional capabilities. The agent stack (extra `agentcore`) is looked for, never required."""

from __future__ import annotations

from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Settings

# The modules `pip install 'inference-api[agentcore]'` brings; find_spec does not import them,
# so a plain install starts as fast as ever and never fails on their absence.
AGENTCORE_MODULES = ("strands", "bedrock_agentcore")


def agentcore_available() -> bool:
    return all(find_spec(name) is not None for name in AGENTCORE_MODULES)


def health_fields(settings: Settings) -> dict[str, Any]:
    """What /inference/health adds to the kit's fields (schemas.Health), in its order: one source for
    the app and for the answer given while it loads (__main__.py)."""
    return {"model_id": settings.bedrock_model_id, "agentcore": agentcore_available()}
