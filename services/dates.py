"""Dates and times the way people write them, in Dutch (default) and English, in the meeting's own zone.

One home for every place that shows a time to a person: mails, pages, and the reasons in problem details.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

Locale = Literal["nl", "en"]

_DAYS: dict[Locale, tuple[str, ...]] = {
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS: dict[Locale, tuple[str, ...]] = {
    "nl": (
        "januari", "februari", "maart", "april", "mei", "juni",
        "juli", "augustus", "september", "oktober", "november", "december",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip
_WORDS: dict[Locale, dict[str, str]] = {
    "nl": {"local_time": "Nederlandse tijd", "timezone": "tijdzone {zone}", "to": "tot", "at": "om"},
    "en": {"local_time": "Dutch time", "timezone": "time zone {zone}", "to": "to", "at": "at"},
}
DUTCH_ZONE = "Europe/Amsterdam"


def day(value: datetime, locale: Locale = "nl") -> str:
    """'dinsdag 3 maart 2027' of an aware datetime already in the zone wanted."""
    return f"{_DAYS[locale][value.weekday()]} {value.day} {_MONTHS[locale][value.month - 1]} {value.year}"


def format_when(starts_at: datetime, ends_at: datetime, timezone: str, locale: Locale = "nl") -> str:
    """'donderdag 14 maart 2025, 14:00–16:00 (Nederlandse tijd)', in the meeting's own zone."""
    zone = ZoneInfo(timezone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    words = _WORDS[locale]
    label = words["local_time"] if timezone == DUTCH_ZONE else words["timezone"].format(zone=timezone)
    if start.date() == end.date():
        return f"{day(start, locale)}, {start:%H:%M}–{end:%H:%M} ({label})"
    return f"{day(start, locale)} {start:%H:%M} {words['to']} {day(end, locale)} {end:%H:%M} ({label})"


def moment(value: datetime, timezone: str = DUTCH_ZONE, locale: Locale = "nl") -> str:
    """'3 maart 2027 om 13:30': one point in time, for deadlines and opening times."""
    local = value.astimezone(ZoneInfo(timezone))
    return f"{local.day} {_MONTHS[locale][local.month - 1]} {local.year} {_WORDS[locale]['at']} {local:%H:%M}"


def clock(value: datetime, timezone: str = DUTCH_ZONE) -> str:
    """'13:30' in the zone."""
    return f"{value.astimezone(ZoneInfo(timezone)):%H:%M}"
