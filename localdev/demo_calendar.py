"""When demo meetings can fall: working days in the Netherlands, in the morning or afternoon slot.

Never on a weekend, a national holiday or between Christmas and New Year (when nobody plans a learning meeting),
always counted from today, so the demo never goes stale.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.easter import easter

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# The two slots of a collegiale leerbijeenkomst: a morning or an afternoon, three hours each.
MORNING = (time(9, 30), time(12, 30))
AFTERNOON = (time(13, 30), time(16, 30))


def dutch_holidays(year: int) -> set[date]:
    """National holidays (Koningsdag moves to the 26th when the 27th is a Sunday)."""
    paschal = easter(year)
    kings_day = date(year, 4, 27)
    if kings_day.weekday() == 6:
        kings_day = date(year, 4, 26)
    return {
        date(year, 1, 1),
        paschal - timedelta(days=2),  # Goede Vrijdag: many municipalities are closed
        paschal + timedelta(days=1),  # Tweede Paasdag
        kings_day,
        date(year, 5, 5),  # Bevrijdingsdag
        paschal + timedelta(days=39),  # Hemelvaartsdag
        paschal + timedelta(days=50),  # Tweede Pinksterdag
        date(year, 12, 25),
        date(year, 12, 26),
    }


def is_working_day(day: date) -> bool:
    if day.weekday() >= 5 or day in dutch_holidays(day.year):
        return False
    return not (day.month == 12 and day.day >= 24) and not (day.month == 1 and day.day <= 2)


def working_day(today: date, offset: int) -> date:
    """The `offset`-th working day after today (before it when negative); offset 0 is not allowed."""
    if offset == 0:
        raise ValueError("offset 0 would be today, which may not be a working day")
    step = 1 if offset > 0 else -1
    day, left = today, abs(offset)
    while left:
        day += timedelta(days=step)
        if is_working_day(day):
            left -= 1
    return day


def slot(day: date, afternoon: bool) -> tuple[datetime, datetime]:
    start, end = AFTERNOON if afternoon else MORNING
    return datetime.combine(day, start, AMSTERDAM), datetime.combine(day, end, AMSTERDAM)
