"""Is a region name one AWS has? Checked against the endpoint data botocore ships, not a pattern.

A pattern accepts `us-east-9`, and botocore then fails far from the cause ("invalid XML received",
a DNS error after retries). botocore's own data files name every region of every partition.
They are read as plain JSON, without importing botocore: `--synth` must stay fast, and
importing botocore's session machinery costs more than the whole synthesis.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

__all__ = ["known_regions", "region_problem"]

# partitions.json is the small file (a few KiB) botocore's endpoint rules resolve partitions and
# regions from; endpoints.json (over 1 MiB, every service's endpoints) is the older table and the
# fallback when a botocore lacks the small one.
_DATA_FILES = ("partitions.json", "endpoints.json")


def _botocore_data_dir() -> Path | None:
    # find_spec on a top-level name locates the package without executing its __init__.
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _regions_in(data: dict) -> set[str]:
    regions: set[str] = set()
    for partition in data.get("partitions", []):
        # "aws-global" and its kind are signing pseudo-regions, not places a VPC can live.
        regions.update(r for r in partition.get("regions", {}) if not r.endswith("-global"))
    return regions


@cache
def known_regions() -> frozenset[str]:
    """Every region name in botocore's endpoint data (empty when botocore is not installed)."""
    base = _botocore_data_dir()
    for name in _DATA_FILES:
        path = base / name if base else None
        if path and path.is_file():
            return frozenset(_regions_in(json.loads(path.read_text(encoding="utf-8"))))
    return frozenset()


def region_problem(name: str) -> str | None:
    """None when `name` is a region botocore knows; else one phrase saying what is wrong and the nearest names."""
    known = known_regions()
    if not known:
        return "cannot check the region: botocore's endpoint data was not found (install boto3)"
    if name in known:
        return None
    import difflib  # only on the error path

    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6) or _examples(known)
    return (f"{name!r} is not an AWS region in botocore's endpoint data (expected a known region such as "
            f"{', '.join(close)}; for a region newer than the installed botocore, upgrade boto3)")


def _examples(known: frozenset[str]) -> list[str]:
    return [r for r in ("us-east-1", "eu-west-1", "ap-southeast-2") if r in known] or sorted(known)[:3]
