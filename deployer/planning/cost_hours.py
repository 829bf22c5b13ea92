"""How many task-hours a month a service runs, read from its scalable target's scheduled actions.

`deploy.py --cost` prices what a template says. A scalable target with scheduled actions (working
hours, generators/schedule.py) changes its floor at set times of the week; between two actions the
idle count is the floor the earlier one set. Only `cron(M H ? * DAYS *)` is read: the form the
generators write (a time zone moves the whole week, so it does not change the hours). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
MINUTES_PER_WEEK = 7 * 24 * 60
CRON_RE = re.compile(r"cron\((\d{1,2}) (\d{1,2}) \? \* ([A-Z,*-]+) \*\)")


def _days(field: str) -> list[int] | None:
    if field == "*":
        return list(range(7))
    days: list[int] = []
    for part in field.split(","):
        ends = part.split("-")
        if len(ends) > 2 or any(e not in DAYS for e in ends):
            return None
        first, last = DAYS.index(ends[0]), DAYS.index(ends[-1])
        days += list(range(first, last + 1))
    return days


def _events(actions: Sequence[Mapping[str, Any]]) -> list[tuple[int, float]] | None:
    """(minute of the week, floor from then on) for every firing of every action; None if unreadable."""
    events = []
    for action in actions:
        m = CRON_RE.fullmatch(str(action.get("Schedule", "")))
        floor = action.get("ScalableTargetAction", {}).get("MinCapacity")
        days = _days(m.group(3)) if m else None
        if m is None or days is None or not isinstance(floor, int | float):
            return None
        events += [(day * 1440 + int(m.group(2)) * 60 + int(m.group(1)), float(floor)) for day in days]
    return sorted(events)


def weekly_profile(actions: Sequence[Mapping[str, Any]]) -> list[tuple[float, float]] | None:
    """[(hours per week, task floor)], one entry per stretch between two firings; None if unreadable."""
    events = _events(actions)
    if not events:
        return None
    stretches = []
    for i, (at, floor) in enumerate(events):
        until = events[i + 1][0] if i + 1 < len(events) else events[0][0] + MINUTES_PER_WEEK
        stretches.append(((until - at) / 60, floor))
    return stretches
