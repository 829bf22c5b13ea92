"""Working hours of an environment: `schedule = { weekdays = "07:00-20:00", timezone = "Europe/Berlin" }`.

Inside a window (Monday to Friday, local time) every service runs at its minimum count; outside it,
and all weekend, at zero. `weekdays` may hold several windows, comma-separated, in order and apart
("07:00-12:00, 13:00-20:00"); a window ends on the day it starts (no midnight crossing). Pure:
`next_change` computes from the configuration and a clock value, nothing is looked up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .schema import ConfigError, Field, check_table

SCHEDULE_FIELDS = {"weekdays": Field("str", True), "timezone": Field("str", True)}
WINDOW_RE = re.compile(r"\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*")
WEEKDAYS = range(5)  # Monday..Friday, as datetime.weekday() counts
EXAMPLE = 'weekdays = "07:00-20:00"'


@dataclass(frozen=True)
class Schedule:
    windows: tuple[tuple[int, int], ...]  # (start, end) in minutes after local midnight, start < end
    timezone: str

    @property
    def text(self) -> str:
        return ", ".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in self.windows)

    @property
    def awake_hours_per_week(self) -> float:
        return len(WEEKDAYS) * sum(b - a for a, b in self.windows) / 60


def parse_schedule(where: str, key: str, t: dict[str, Any] | None) -> Schedule | None:
    if t is None:
        return None
    check_table(t, SCHEDULE_FIELDS, where, key)
    try:
        ZoneInfo(t["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: {key}.timezone: {t['timezone']!r} is not a known time zone "
                          "(expected an IANA name such as \"Europe/Berlin\" or \"UTC\")") from None
    windows = [_window(where, key, part) for part in t["weekdays"].split(",")]
    for (a1, b1), (a2, b2) in zip(windows, windows[1:], strict=False):
        if a2 <= b1:
            raise ConfigError(f"{where}: {key}.weekdays: {_hhmm(a2)}-{_hhmm(b2)} overlaps or touches "
                              f"{_hhmm(a1)}-{_hhmm(b1)} (expected windows in order and apart)")
    return Schedule(tuple(windows), t["timezone"])


def _window(where: str, key: str, part: str) -> tuple[int, int]:
    m = WINDOW_RE.fullmatch(part)
    numbers = [int(g) for g in m.groups()] if m else []
    if not m or max(numbers[0], numbers[2]) > 23 or max(numbers[1], numbers[3]) > 59:
        raise ConfigError(f"{where}: {key}.weekdays: {part.strip()!r} is not a time window "
                          f"(expected HH:MM-HH:MM in 24-hour time, e.g. {EXAMPLE})")
    start, end = numbers[0] * 60 + numbers[1], numbers[2] * 60 + numbers[3]
    if start >= end:
        raise ConfigError(f"{where}: {key}.weekdays: {part.strip()!r} ends before it starts "
                          "(expected a window within one day, e.g. 07:00-20:00)")
    return start, end


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def awake_at(schedule: Schedule, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(schedule.timezone))
    minute = local.hour * 60 + local.minute
    return local.weekday() in WEEKDAYS and any(a <= minute < b for a, b in schedule.windows)


def next_change(schedule: Schedule, now: datetime) -> tuple[datetime, str]:
    """When the services next wake or sleep after `now` (aware), in the schedule's time zone."""
    zone = ZoneInfo(schedule.timezone)
    local = now.astimezone(zone)
    for day in range(8):
        date = (local + timedelta(days=day)).date()
        if date.weekday() not in WEEKDAYS:
            continue
        for start, end in schedule.windows:
            for minute, action in ((start, "wake"), (end, "sleep")):
                at = datetime(date.year, date.month, date.day, minute // 60, minute % 60, tzinfo=zone)
                if at > local:
                    return at, action
    raise AssertionError("a weekday schedule changes within eight days")


def describe_next(schedule: Schedule, now: datetime) -> str:
    """`asleep; wakes Mon 07:00 Europe/Berlin (in 9h 12m)`: the line --status prints."""
    at, action = next_change(schedule, now)
    left = int((at - now).total_seconds() // 60)
    state = "awake" if awake_at(schedule, now) else "asleep"
    verb = "wakes" if action == "wake" else "sleeps"
    return (f"{state}; {verb} {at:%a %H:%M} {schedule.timezone} (in {left // 60}h {left % 60:02d}m; "
            f"schedule weekdays {schedule.text})")


def next_sleep(schedule: Schedule, now: datetime) -> datetime:
    """The next time the schedule puts the services to zero (what ends a --wake)."""
    at, action = next_change(schedule, now)
    return at if action == "sleep" else next_change(schedule, at)[0]
