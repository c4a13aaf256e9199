"""Dates and times the way people write them, in Dutch (default) and English, in the meeting's own zone.

One home for every place that shows a time to a person: mails, pages, and the reasons in problem details. Day and
month names come from Babel's CLDR data ("dinsdag 3 maart 2027", "Tuesday 3 March 2027"); the pattern is ours, so
both languages read as a sentence, not as a form field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date

Locale = Literal["nl", "en"]

# CLDR patterns: weekday, day without leading zero, month name, year. English as written in the UK (and by
# Dutch public bodies in English): "Tuesday 3 March 2027", no comma, no ordinal.
_DAY_PATTERN = "EEEE d MMMM y"
_MOMENT_PATTERN = "d MMMM y"
_BABEL_LOCALE: dict[Locale, str] = {"nl": "nl_NL", "en": "en_GB"}
_WORDS: dict[Locale, dict[str, str]] = {
    "nl": {"local_time": "Nederlandse tijd", "timezone": "tijdzone {zone}", "to": "tot", "at": "om"},
    "en": {"local_time": "Dutch time", "timezone": "time zone {zone}", "to": "to", "at": "at"},
}
DUTCH_ZONE = "Europe/Amsterdam"


def skipped(on: date, at: time, zone: ZoneInfo) -> bool:
    """Whether the clock skips this time on that day (the spring change: 02:30 does not exist in Amsterdam on the
    last Sunday of March). Python reads such a time with the offset from before the change, silently."""
    local = datetime.combine(on, at, tzinfo=zone)
    return local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None)


def day(value: datetime, locale: Locale = "nl") -> str:
    """'dinsdag 3 maart 2027' of an aware datetime already in the zone wanted."""
    return format_date(value.date(), _DAY_PATTERN, locale=_BABEL_LOCALE[locale])


def span(starts_at: datetime, ends_at: datetime, timezone: str, locale: Locale = "nl") -> str:
    """'dinsdag 3 maart 2027, 13:30–16:00' in the meeting's zone, without saying which zone (pages say it once)."""
    zone = ZoneInfo(timezone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    if start.date() == end.date():
        return f"{day(start, locale)}, {start:%H:%M}–{end:%H:%M}"
    return f"{day(start, locale)} {start:%H:%M} {_WORDS[locale]['to']} {day(end, locale)} {end:%H:%M}"


def zone_label(timezone: str, locale: Locale = "nl") -> str:
    """'Nederlandse tijd', or 'tijdzone Europe/London' for a meeting elsewhere."""
    words = _WORDS[locale]
    return words["local_time"] if timezone == DUTCH_ZONE else words["timezone"].format(zone=timezone)


def format_when(starts_at: datetime, ends_at: datetime, timezone: str, locale: Locale = "nl") -> str:
    """'donderdag 14 maart 2025, 14:00–16:00 (Nederlandse tijd)', in the meeting's own zone."""
    return f"{span(starts_at, ends_at, timezone, locale)} ({zone_label(timezone, locale)})"


def moment(value: datetime, timezone: str = DUTCH_ZONE, locale: Locale = "nl") -> str:
    """'3 maart 2027 om 13:30': one point in time, for deadlines and opening times."""
    local = value.astimezone(ZoneInfo(timezone))
    date = format_date(local.date(), _MOMENT_PATTERN, locale=_BABEL_LOCALE[locale])
    return f"{date} {_WORDS[locale]['at']} {local:%H:%M}"


def month(year: int, number: int, locale: Locale = "nl") -> str:
    """'maart 2027' (a month of a report), the month's name from CLDR."""
    return format_date(date(year, number, 1), "LLLL y", locale=_BABEL_LOCALE[locale])


def clock(value: datetime, timezone: str = DUTCH_ZONE) -> str:
    """'13:30' in the zone."""
    return f"{value.astimezone(ZoneInfo(timezone)):%H:%M}"
