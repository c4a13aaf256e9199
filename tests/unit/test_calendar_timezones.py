"""VTIMEZONE blocks: structure, the Amsterdam rules, and offsets as two independent readers compute them.

python-icalendar (dateutil underneath) and the strict `ical` parser each build a tzinfo from our VTIMEZONE text
alone (not from their own tz database); both must agree with zoneinfo at every transition and at random instants.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime, timedelta, tzinfo

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream
from ical.timezone import IcsTimezoneInfo

from services.calendar.timezones import vtimezone

AMSTERDAM = (
    "BEGIN:VTIMEZONE\r\n"
    "TZID:Europe/Amsterdam\r\n"
    "X-LIC-LOCATION:Europe/Amsterdam\r\n"
    "BEGIN:DAYLIGHT\r\n"
    "TZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\n"
    "TZNAME:CEST\r\n"
    "DTSTART:20100328T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
    "END:DAYLIGHT\r\n"
    "BEGIN:STANDARD\r\n"
    "TZOFFSETFROM:+0200\r\n"
    "TZOFFSETTO:+0100\r\n"
    "TZNAME:CET\r\n"
    "DTSTART:20101031T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    "END:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
)

# Regular DST both hemispheres, negative DST, no DST, half-hour DST, "Friday before" rules, abolished or new DST,
# Ramadan switches, a date-line jump and 45-minute offsets.
TRICKY_ZONES = [
    "Europe/Amsterdam",
    "America/New_York",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Europe/Dublin",
    "Asia/Jerusalem",
    "America/Nuuk",
    "America/Santiago",
    "America/Mexico_City",
    "Asia/Tehran",
    "Africa/Cairo",
    "Africa/Casablanca",
    "Europe/Moscow",
    "Pacific/Apia",
    "Pacific/Chatham",
    "Antarctica/Macquarie",
    "UTC",
]

ALL_ZONES = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


def _calendar(block: str) -> str:
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//test//EN\r\n{block}END:VCALENDAR\r\n"


@functools.cache
def _readers(tzid: str) -> tuple[tzinfo, tzinfo]:
    text = _calendar(vtimezone(tzid))
    block = icalendar.Calendar.from_ical(text).walk("VTIMEZONE")[0]
    assert isinstance(block, icalendar.Timezone)
    lenient = block.to_tz(lookup_tzid=False)
    strict = IcsTimezoneInfo.from_timezone(IcsCalendarStream.calendar_from_ics(text).timezones[0])
    return lenient, strict


def _assert_offsets_agree(tzid: str, instant: datetime) -> None:
    zone = zoneinfo.ZoneInfo(tzid)
    wall = instant.astimezone(zone).replace(tzinfo=None, fold=0)
    if wall.replace(tzinfo=zone).utcoffset() != wall.replace(tzinfo=zone, fold=1).utcoffset():
        return  # the repeated hour: a wall time alone does not name one instant, for any reader
    want = instant.astimezone(zone).utcoffset()
    for reader in _readers(tzid):
        assert wall.replace(tzinfo=reader).utcoffset() == want, (tzid, instant, type(reader).__name__)


def _transitions(tzid: str, start: int, end: int) -> list[int]:
    zone = zoneinfo.ZoneInfo(tzid)
    found = []
    previous = datetime.fromtimestamp(start, zone).utcoffset()
    for hour in range(start, end, 3600):
        offset = datetime.fromtimestamp(hour, zone).utcoffset()
        if offset != previous:
            lo, hi = hour - 3600, hour  # bisect to the exact second of the change
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if datetime.fromtimestamp(mid, zone).utcoffset() == previous else (lo, mid)
            found.append(hi)
            previous = offset
    return found


def test_amsterdam_is_two_rrule_observances() -> None:
    assert vtimezone("Europe/Amsterdam") == AMSTERDAM


def test_new_york_uses_the_2007_us_rule() -> None:
    block = vtimezone("America/New_York")
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n" in block
    assert "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n" in block
    assert block.count("BEGIN:DAYLIGHT") == 1
    assert block.count("BEGIN:STANDARD") == 1


def test_tokyo_is_one_standard_observance() -> None:
    block = vtimezone("Asia/Tokyo")
    assert "BEGIN:DAYLIGHT" not in block
    assert block.count("BEGIN:STANDARD") == 1
    assert "TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\n" in block


def test_result_is_cached() -> None:
    assert vtimezone("Europe/Amsterdam") is vtimezone("Europe/Amsterdam")


@pytest.mark.parametrize(
    "bad", ["Mars/Olympus", "", "localtime", "Factory", "../etc/passwd", "Europe/Amsterdam\r\nX:y"]
)
def test_unknown_zone_is_a_value_error(bad: str) -> None:
    with pytest.raises(ValueError, match=r"unknown IANA time zone|control character"):
        vtimezone(bad)


@pytest.mark.parametrize("tzid", TRICKY_ZONES)
def test_every_observance_is_complete(tzid: str) -> None:
    block = vtimezone(tzid)
    assert block.startswith(f"BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\n")
    assert block.endswith("END:VTIMEZONE\r\n")
    observances = [part.split("END:", 1)[0] for part in block.split("BEGIN:")[2:]]
    assert observances
    for body in observances:
        props = {line.split(":", 1)[0] for line in body.replace("\r\n ", "").split("\r\n")[1:] if line}
        assert {"DTSTART", "TZOFFSETFROM", "TZOFFSETTO", "TZNAME"} <= props
        assert props & {"RRULE", "RDATE"}  # the strict parser ignores an observance without either
        assert "UNTIL" not in body
    assert all(len(line.encode()) <= 75 for line in block.split("\r\n"))


@pytest.mark.parametrize("tzid", TRICKY_ZONES)
def test_offsets_agree_around_every_transition(tzid: str) -> None:
    start = int(datetime(2011, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(2040, 1, 1, tzinfo=UTC).timestamp())
    for at in _transitions(tzid, start, end):
        for delta in (-7200, -1, 0, 1, 7200, 3 * 86400):
            _assert_offsets_agree(tzid, datetime.fromtimestamp(at + delta, UTC))


# hypothesis takes naive bounds and attaches the zone itself
_INSTANTS = st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 31, 23, 59), timezones=st.just(UTC))  # noqa: DTZ001


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["Europe/Amsterdam", "America/New_York", "Asia/Tokyo"]), _INSTANTS)
def test_offsets_agree_for_random_instants(tzid: str, instant: datetime) -> None:
    _assert_offsets_agree(tzid, instant)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(ALL_ZONES), st.lists(_INSTANTS, min_size=5, max_size=5))
def test_offsets_agree_in_any_zone(tzid: str, instants: list[datetime]) -> None:
    for instant in instants:
        _assert_offsets_agree(tzid, instant)


def test_amsterdam_summer_and_winter_offsets() -> None:
    lenient, strict = _readers("Europe/Amsterdam")
    for reader in (lenient, strict):
        assert datetime(2025, 7, 1, 12, tzinfo=reader).utcoffset() == timedelta(hours=2)
        assert datetime(2025, 1, 15, 12, tzinfo=reader).utcoffset() == timedelta(hours=1)
        assert datetime(2031, 3, 30, 1, 59, tzinfo=reader).utcoffset() == timedelta(hours=1)
        assert datetime(2031, 3, 30, 3, 0, tzinfo=reader).utcoffset() == timedelta(hours=2)
