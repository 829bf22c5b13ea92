"""Region names checked against botocore's endpoint data, without importing botocore.

botocore's `endpoints.json` lists every region of every partition (and a pattern for regions
newer than the installed botocore). Reading the file directly keeps the AWS SDK off the synth
path, where importing botocore alone would cost a third of a second.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path


@cache
def _partitions() -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    spec = importlib.util.find_spec("botocore")
    if spec is None or spec.origin is None:  # no SDK installed: nothing to check against
        return frozenset(), ()
    data = json.loads((Path(spec.origin).parent / "data" / "endpoints.json").read_text(encoding="utf-8"))
    names = frozenset(r for p in data["partitions"] for r in p.get("regions", {}))
    patterns = tuple(re.compile(p["regionRegex"]) for p in data["partitions"] if p.get("regionRegex"))
    return names, patterns


def region_problem(name: str) -> str | None:
    """Why `name` is not an AWS region, or None (a name botocore lists or its partitions' pattern fits)."""
    names, patterns = _partitions()
    if not names or name in names or any(p.fullmatch(name) for p in patterns):
        return None
    close = sorted(r for r in names if r.split("-")[0] == name.split("-")[0])[:4] or ["us-east-1", "eu-west-1"]
    return f"{name!r} is not an AWS region (expected a region such as {', '.join(close)})"
