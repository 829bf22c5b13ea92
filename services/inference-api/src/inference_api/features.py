"""Optional capabilities. The agent stack (extra `agentcore`) is looked for, never required."""

from __future__ import annotations

from importlib.util import find_spec

# The modules `pip install 'inference-api[agentcore]'` brings; find_spec does not import them,
# so a plain install starts as fast as ever and never fails on their absence.
AGENTCORE_MODULES = ("strands", "bedrock_agentcore")


def agentcore_available() -> bool:
    return all(find_spec(name) is not None for name in AGENTCORE_MODULES)
