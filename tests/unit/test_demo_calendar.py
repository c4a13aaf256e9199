"""Demo meetings fall on Dutch working days, counted from whatever today is."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localdev.demo_calendar import dutch_holidays, is_working_day, slot, working_day


def test_holidays_of_2027():
    assert dutch_holidays(2027) == {
        date(2027, 1, 1),
        date(2027, 3, 26),  # Goede Vrijdag
        date(2027, 3, 29),  # Tweede Paasdag
        date(2027, 4, 27),
        date(2027, 5, 5),
        date(2027, 5, 6),  # Hemelvaartsdag
        date(2027, 5, 17),  # Tweede Pinksterdag
        date(2027, 12, 25),
        date(2027, 12, 26),
    }


def test_kings_day_on_a_sunday_moves_to_saturday():
    assert date(2025, 4, 26) in dutch_holidays(2025)  # 27 April 2025 was a Sunday
    assert date(2025, 4, 27) not in dutch_holidays(2025)


@pytest.mark.parametrize("day", [date(2026, 12, 24), date(2026, 12, 28), date(2027, 1, 1), date(2027, 1, 2)])
def test_no_meetings_between_christmas_and_new_year(day: date):
    assert not is_working_day(day)


def test_from_a_friday_before_christmas():
    assert working_day(date(2026, 12, 18), 1) == date(2026, 12, 21)
    assert working_day(date(2026, 12, 18), 4) == date(2027, 1, 4)
    assert working_day(date(2027, 1, 4), -1) == date(2026, 12, 23)


@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2040, 12, 31)), st.integers(min_value=1, max_value=60))
def test_every_offset_lands_on_a_working_day(today: date, offset: int):
    ahead, back = working_day(today, offset), working_day(today, -offset)
    assert is_working_day(ahead)
    assert is_working_day(back)
    assert back < today < ahead
    assert sum(is_working_day(today + timedelta(days=n)) for n in range(1, (ahead - today).days + 1)) == offset


def test_slots_are_three_hours_in_amsterdam_time():
    start, end = slot(date(2027, 3, 1), afternoon=False)
    assert (start.hour, start.minute, end.hour, end.minute) == (9, 30, 12, 30)
    assert start.utcoffset() == timedelta(hours=1)
    start, end = slot(date(2027, 6, 1), afternoon=True)
    assert (start.hour, start.minute, end.hour, end.minute) == (13, 30, 16, 30)
    assert start.utcoffset() == timedelta(hours=2)
