"""Full VTIMEZONE blocks for IANA zones, derived from zoneinfo (CALENDAR-INTEROP A10, A11).

Outlook shifts events by an hour when the VTIMEZONE for a TZID is missing or empty, and ical.js treats the time as
floating, so every TZID we write comes with its definition. The definition is read off zoneinfo's own answers
(utcoffset and tzname per instant), not hard-coded, so whatever tzdata the process runs with is what we publish.
Yearly-regular transitions become RRULE observances (what Outlook copes with best); irregular ones (Morocco's
Ramadan switches, one-off law changes) each get an observance of their own rather than one long RDATE list.
"""

from __future__ import annotations

import calendar
import functools
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeAlias

from services.calendar.text import CRLF, check_value, content_line, escape_text

# Meetings in this service start well after 2010, and starting there keeps Europe/Amsterdam and America/New_York
# at one STANDARD plus one DAYLIGHT rule (New York's current rule dates from 2007).
_FLOOR_YEAR = 2010
_FLOOR = int(datetime(_FLOOR_YEAR, 1, 1, tzinfo=UTC).timestamp())
# Transitions are probed up to here; a rule still running in the last probed year is written without an end.
_HORIZON_YEAR = 2045
_HORIZON = int(datetime(_HORIZON_YEAR + 1, 1, 1, tzinfo=UTC).timestamp())
# Daily sampling plus bisection finds every change except one undone within the same day; tzdata has none since
# the floor, and the tests compare against hourly scans.
_STEP = 86_400
_EPOCH = "19700101T000000"
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

_State: TypeAlias = tuple[timedelta, str]
# (kind, number, weekday): kind 0 "last weekday", 1 "nth weekday", 2 "fixed day", 3 "weekday on or after day"
_Rule: TypeAlias = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class _Transition:
    at: int  # POSIX seconds of the change
    offset_from: timedelta
    offset_to: timedelta
    name: str
    daylight: bool

    @property
    def onset(self) -> datetime:
        # RFC 5545 3.6.5: an observance's DTSTART is wall-clock time in the offset in effect before the change.
        return datetime.fromtimestamp(self.at, UTC).replace(tzinfo=None) + self.offset_from

    @property
    def key(self) -> tuple[bool, timedelta, timedelta, str]:
        return (self.daylight, self.offset_from, self.offset_to, self.name)


@functools.cache
def _known_zones() -> frozenset[str]:
    # zoneinfo also opens files such as "localtime" (a copy of the host's zone on Debian) that name no place.
    return frozenset(zoneinfo.available_timezones() - {"localtime", "posixrules", "Factory"})


@functools.lru_cache(maxsize=256)
def zone(tzid: str) -> zoneinfo.ZoneInfo:
    """Return the ZoneInfo for an IANA name; raises ValueError for anything else (including "localtime")."""
    check_value(tzid)
    if tzid not in _known_zones():
        raise ValueError(f"unknown IANA time zone {tzid!r}")
    return zoneinfo.ZoneInfo(tzid)


def _state(tz: zoneinfo.ZoneInfo, ts: int) -> _State:
    local = datetime.fromtimestamp(ts, tz)
    return (local.utcoffset() or timedelta(0), local.tzname() or "")


def _dst(tz: zoneinfo.ZoneInfo, ts: int) -> timedelta:
    return datetime.fromtimestamp(ts, tz).dst() or timedelta(0)


def _transitions(tz: zoneinfo.ZoneInfo) -> list[_Transition]:
    found: list[_Transition] = []
    t, s = _FLOOR, _state(tz, _FLOOR)
    while t < _HORIZON:
        u = min(t + _STEP, _HORIZON)
        su = _state(tz, u)
        while s != su:  # at least one change in (t, u]: bisect to the first one, then look again after it
            lo, hi = t, u
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _state(tz, mid) == s:
                    lo = mid
                else:
                    hi = mid
            new = _state(tz, hi)
            dst_from, dst_to = _dst(tz, lo), _dst(tz, hi)
            # DAYLIGHT only where DST begins. Zones with negative DST (Europe/Dublin, Africa/Casablanca in tzdata's
            # main form) flag winter as DST, so there the return from it counts. A DST-to-DST jump (Samoa crossing
            # the date line, 24 hours) is not a DST start; readers derive DST as TZOFFSETTO - TZOFFSETFROM.
            zero = timedelta(0)
            daylight = (dst_to > zero >= dst_from) or (dst_to == zero > dst_from)
            found.append(_Transition(hi, s[0], new[0], new[1], daylight))
            t, s = hi, new
        t, s = u, su
    return found


def _rules(onset: datetime) -> set[_Rule]:
    """Every yearly rule that this one date satisfies."""
    day, wd = onset.day, onset.weekday()
    length = calendar.monthrange(onset.year, onset.month)[1]
    shortest = 28 if onset.month == 2 else length
    rules: set[_Rule] = set()
    if day + 7 > length:
        rules.add((0, -1, wd))
    if (day - 1) // 7 < 4:
        rules.add((1, (day - 1) // 7 + 1, wd))
    if not (onset.month == 2 and day == 29):
        rules.add((2, day, -1))
    # "Friday on or after the 23rd" (Israel) or "Saturday before the last Sunday" (Greenland) are weekday rules
    # that no BYDAY ordinal expresses; BYDAY=FR;BYMONTHDAY=23..29 does.
    rules.update((3, first, wd) for first in range(max(1, day - 6), day + 1) if first + 6 <= shortest)
    return rules


def _rrule(month: int, rule: _Rule) -> str:
    kind, number, wd = rule
    if kind == 2:
        return f"FREQ=YEARLY;BYMONTH={month};BYMONTHDAY={number}"
    if kind == 3:
        days = ",".join(str(d) for d in range(number, number + 7))
        return f"FREQ=YEARLY;BYMONTH={month};BYDAY={_DAYS[wd]};BYMONTHDAY={days}"
    return f"FREQ=YEARLY;BYMONTH={month};BYDAY={number}{_DAYS[wd]}"


@dataclass(slots=True)
class _Run:
    items: list[_Transition]
    rules: set[_Rule]

    def accepts(self, t: _Transition) -> set[_Rule]:
        last, onset = self.items[-1].onset, t.onset
        if onset.year != last.year + 1 or onset.month != last.month or onset.time() != last.time():
            return set()
        return self.rules & _rules(onset)


def _runs(transitions: list[_Transition]) -> list[_Run]:
    by_key: dict[tuple[bool, timedelta, timedelta, str], list[_Transition]] = {}
    for t in transitions:
        by_key.setdefault(t.key, []).append(t)
    runs: list[_Run] = []
    for group in by_key.values():
        current = _Run([group[0]], _rules(group[0].onset))
        for t in group[1:]:
            if common := current.accepts(t):
                current.items.append(t)
                current.rules = common
            else:
                runs.append(current)
                current = _Run([t], _rules(t.onset))
        runs.append(current)
    runs.sort(key=lambda r: r.items[0].at)
    return runs


def _offset(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else "+"
    hours, rest = divmod(abs(total), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")


def _observance(t: _Transition, dtstart: str, rrule: str | None) -> str:
    kind = "DAYLIGHT" if t.daylight else "STANDARD"
    lines = [
        f"BEGIN:{kind}{CRLF}",
        content_line("TZOFFSETFROM", _offset(t.offset_from)),
        content_line("TZOFFSETTO", _offset(t.offset_to)),
        content_line("TZNAME", escape_text(t.name)) if t.name else "",
        content_line("DTSTART", dtstart),
        # A one-off onset repeats its DTSTART as RDATE: the strict `ical` parser ignores an observance with
        # neither RRULE nor RDATE, and any reader that skips the RDATE still gets the same onset from DTSTART.
        content_line("RRULE", rrule) if rrule else content_line("RDATE", dtstart),
        f"END:{kind}{CRLF}",
    ]
    return "".join(lines)


def _local(t: _Transition) -> str:
    return t.onset.strftime("%Y%m%dT%H%M%S")


def _run_block(run: _Run) -> str:
    first, last = run.items[0], run.items[-1]
    if len(run.items) == 1:
        return _observance(first, _local(first), None)
    rule = min(run.rules)  # kind order makes "last Sunday" win over the equivalent "Sunday on or after the 25th"
    rrule = _rrule(first.onset.month, rule)
    if last.onset.year < _HORIZON_YEAR:
        # COUNT rather than UNTIL: RFC 5545 wants a UTC UNTIL next to the local DTSTART here, which the strict
        # `ical` parser (dateutil underneath) rejects as a naive/aware mix; a count means the same to everyone.
        rrule += f";COUNT={len(run.items)}"
    return _observance(first, _local(first), rrule)


def _prelude(tz: zoneinfo.ZoneInfo) -> str:
    # The offset in force at the floor, as an observance from the conventional 1970 epoch. Readers disagree about
    # times before the earliest onset (dateutil takes a STANDARD's TZOFFSETTO, `ical` finds no offset at all), so
    # a zone whose rules changed after the floor, or that never changes, states it explicitly.
    offset, name = _state(tz, _FLOOR)
    return _observance(_Transition(_FLOOR, offset, offset, name, _dst(tz, _FLOOR) > timedelta(0)), _EPOCH, None)


@functools.lru_cache(maxsize=256)
def vtimezone(tzid: str) -> str:
    """Return the VTIMEZONE block (CRLF lines) for an IANA zone; raises ValueError for an unknown zone."""
    tz = zone(tzid)
    runs = _runs(_transitions(tz))
    # Zones on one regular rule since the floor (Europe/Amsterdam, America/New_York) stay at the two observances
    # every client handles; the earliest onset's TZOFFSETFROM already names the offset before it.
    regular = bool(runs) and all(
        len(r.items) > 1 and r.items[0].onset.year == _FLOOR_YEAR and r.items[-1].onset.year >= _HORIZON_YEAR
        for r in runs
    )
    body = "".join(_run_block(run) for run in runs)
    if not regular:
        body = _prelude(tz) + body
    head = f"BEGIN:VTIMEZONE{CRLF}" + content_line("TZID", tzid) + content_line("X-LIC-LOCATION", escape_text(tzid))
    return f"{head}{body}END:VTIMEZONE{CRLF}"
