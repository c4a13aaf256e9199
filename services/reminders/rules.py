"""When a reminder rule falls for a meeting. Pure.

`{"before": "PT2H"}` (no `at`) means exactly that long before the start. With `at`, the duration picks the day
and `at` the time on it, in the meeting's own zone: `{"before": "P1D", "at": "09:00"}` is 09:00 local on the
calendar day before the start, whatever the UTC offset is that day (both DST changes included). Should that
local moment not lie before the start (`{"before": "PT1H", "at": "10:00"}` for a 09:30 start), it is the same
time a day earlier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from schemas.reminders import DEFAULT_RULES, ReminderRule

_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")
MAX_BEFORE = timedelta(days=90)


def duration(value: str) -> timedelta:
    """The ISO 8601 duration (weeks, days, hours, minutes). Raises ValueError for anything else."""
    found = _DURATION.fullmatch(value)
    if found is None or value in ("P", "PT") or value.endswith("T"):
        raise ValueError(f"not a duration: {value!r}")
    weeks, days, hours, minutes = (int(part or 0) for part in found.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)


def key(rule: ReminderRule) -> str:
    """The rule's canonical name, stored on its rows: 'P7D@09:00', 'PT2H'."""
    return f"{rule.before}@{rule.at}" if rule.at else rule.before


def problems(rules: Sequence[ReminderRule]) -> list[tuple[int, str, str]]:
    """What is wrong with a list of rules: (index, field, Dutch message)."""
    found: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        span = duration(rule.before)  # the type's pattern has admitted only durations this parses
        if span <= timedelta(0):
            found.append((i, "before", "De herinnering moet vóór het begin liggen"))
        elif span > MAX_BEFORE:
            found.append((i, "before", "Een herinnering ligt hoogstens 90 dagen voor het begin"))
        if key(rule) in seen:
            found.append((i, "before", "Deze herinnering staat er al"))
        if rule.ask_after is not None and duration(rule.ask_after) < timedelta(days=1):
            found.append((i, "ask_after", "Vraag 'Kom je nog?' pas aan wie zich minstens een dag eerder inschreef"))
        seen.add(key(rule))
    return found


def due_at(rule: ReminderRule, starts_at: datetime, timezone: str) -> datetime:
    """The moment (UTC) the rule falls for a meeting starting at `starts_at` in `timezone`."""
    span = duration(rule.before)
    if rule.at is None:
        return (starts_at - span).astimezone(UTC)
    zone = ZoneInfo(timezone)
    local_start = starts_at.astimezone(zone)
    # Wall-clock arithmetic (naive local time) picks the calendar day; the zone then gives that day's offset.
    day = (local_start.replace(tzinfo=None) - span).date()
    hour, minute = (int(part) for part in rule.at.split(":"))
    moment = _local(day, time(hour, minute), zone)
    if moment >= starts_at:
        moment = _local(day - timedelta(days=1), time(hour, minute), zone)
    return moment


def _local(day: Any, at: time, zone: ZoneInfo) -> datetime:
    # A time that does not exist (02:30 on the spring-forward night) lands on the same instant as its shifted
    # reading; the UTC round trip makes it a real instant either way.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def parse(stored: Any) -> tuple[ReminderRule, ...] | None:
    """Rules from a jsonb column; None when the column is NULL (inherit)."""
    if stored is None:
        return None
    return tuple(msgspec.convert(stored, list[ReminderRule]))


def effective(meeting_rules: Any, series_rules: Any) -> tuple[ReminderRule, ...]:
    """The meeting's own rules, else its series', else the defaults."""
    for stored in (meeting_rules, series_rules):
        rules = parse(stored)
        if rules is not None:
            return rules
    return DEFAULT_RULES


def to_json(rules: Iterable[ReminderRule]) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(rule) for rule in rules]
