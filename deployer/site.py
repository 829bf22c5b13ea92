"""Pure decisions for `--publish frontend`: upload order, and which old objects may go.

A page loaded just before a publish keeps asking for the assets it names until the visitor
reloads, and CloudFront may serve the old index.html until its invalidation completes. So the
assets the previously published pages name stay for one more generation; only older ones go.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

Item = TypeVar("Item")


def upload_order(items: Sequence[Item], key: Callable[[Item], str], pages: Iterable[str]) -> list[Item]:
    """Assets first, pages last: a visitor who gets the new page must find every asset it names."""
    suffixes = tuple(pages)
    return sorted(items, key=lambda i: key(i).endswith(suffixes))


def page_keys(keys: Iterable[str], pages: Iterable[str]) -> list[str]:
    suffixes = tuple(pages)
    return sorted(k for k in keys if k.endswith(suffixes))


def previous_generation(published: Mapping[str, str], refs: Callable[[str, str], list[str]]) -> set[str]:
    """Keys the pages now in the bucket (key -> HTML) refer to: the generation visitors may still load."""
    return {ref for page, html in published.items() for ref in refs(page, html)}


def stale_keys(before: set[str], current: set[str], previous: set[str]) -> set[str]:
    """Objects neither this publish nor the previous one uses: two generations old, or never ours."""
    return before - current - previous

