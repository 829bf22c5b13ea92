"""Names the agent's configuration accepts: tools, image extras, Bedrock model and profile ids.

No imports from the rest of generators/, so schema.py can use these checks directly.
"""

from __future__ import annotations

import re

# The tool names the inference-api knows (inference_api.agent_settings.TOOL_NAMES is the same list).
TOOL_NAMES = ("web_search", "current_time", "calculator", "http_fetch", "browser")
# Optional dependency groups a service's pyproject.toml may offer; a name outside this list is a typo.
KNOWN_EXTRAS = ("agentcore", "browser")
# Cross-region inference profiles: the geography prefix, then the foundation-model id.
PROFILE_PREFIXES = ("us", "eu", "apac", "jp", "au", "us-gov", "global")
_MODEL = r"[a-z0-9-]+\.[A-Za-z0-9_-]+(:[0-9a-z]+)*"  # provider.model-name-version[:revision]: one dot
MODEL_ID = re.compile(_MODEL)
PROFILE_ID = re.compile(rf"({'|'.join(re.escape(p) for p in PROFILE_PREFIXES)})\.({_MODEL})")
HOST = re.compile(r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+")


def model_id_problem(model: str) -> str | None:
    if PROFILE_ID.fullmatch(model) or (MODEL_ID.fullmatch(model) and model.split(".", 1)[0] not in PROFILE_PREFIXES):
        return None
    return ("a foundation-model id (anthropic.claude-3-haiku-20240307-v1:0) or an inference-profile id "
            f"({'/'.join(p + '.' for p in PROFILE_PREFIXES)} then a model id)")


def check_models(values: list[str]) -> str | None:
    for value in values:
        problem = model_id_problem(value)
        if problem:
            return f"{problem}; {value[:80]!r} is neither"
    return None


def profile_of(model: str) -> tuple[str, str] | None:
    """(geography prefix, foundation-model id) for an inference-profile id, None for a model id."""
    match = PROFILE_ID.fullmatch(model)
    return (match.group(1), match.group(2)) if match else None


def check_extras(values: list[str]) -> str | None:
    bad = [v for v in values if v not in KNOWN_EXTRAS]
    if bad:
        return f"extras from {', '.join(KNOWN_EXTRAS)}; {bad[0]!r} is not one"
    return None if len(set(values)) == len(values) else "each extra once"
