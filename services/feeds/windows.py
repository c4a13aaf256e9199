"""How far back and ahead each kind of feed reaches, and the size every feed is kept under.

Google Calendar silently drops the events of a subscribed feed larger than about 1 MB (users report ~1,100
events), so a feed's window is what keeps it small: the widest feeds look a few weeks ahead, the narrow ones
months. The numbers come from a measured size per meeting at DESIGN scale (README, "Calendar feeds: windows");
`fit` is the safety net behind them: a feed that would pass MAX_FEED_BYTES anyway (far more meetings than
designed for, or very long texts) loses its furthest meetings and says so in the log, rather than losing
random meetings in Google without any error.

Windows move once a day, at midnight UTC: a feed holds the meetings that end after `day - back` and start
before `day + ahead`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

log = logging.getLogger(__name__)

# Decimal, a little under Google's limit (which is not documented to the byte).
MAX_FEED_BYTES = 1_000_000
# A feed past this share of the limit is logged as a warning each time it is rebuilt: time to narrow a window.
WARN_FRACTION = 0.8
WARN_BYTES = int(MAX_FEED_BYTES * WARN_FRACTION)
DAY = timedelta(days=1)


class Window(NamedTuple):
    back: timedelta  # meetings that ended up to this long ago stay (cancelled ones visibly so)
    ahead: timedelta  # meetings that start within this long from today
    label: str  # Dutch, for the subscribe links: "van 1 week terug tot 5 weken vooruit"


# Measured at DESIGN scale (tests/design_scale.py, bench/bench_feeds.py --sizes): 1,135 bytes per meeting in a
# feed, 120 meetings a week in season. Each window keeps the largest feed of its kind near 0.7 MB (README):
# Public, professional-group and municipality/region feeds hold every meeting open to everybody, so each is close to
# the whole programme: 5 weeks x 120 = 600 meetings, 0.68 MB.
WIDE = Window(timedelta(weeks=1), timedelta(weeks=4), "van 1 week terug tot 4 weken vooruit")
# A theme holds at most about a third of the programme: 15 weeks x 40 = 600 meetings.
THEME = Window(timedelta(weeks=2), timedelta(weeks=13), "van 2 weken terug tot 3 maanden vooruit")
# An organising or funding body: up to 60 % of the programme (VNG): 8 weeks x 72 = 580 meetings.
BODY = Window(timedelta(weeks=2), timedelta(weeks=6), "van 2 weken terug tot 6 weken vooruit")
# A participant's own registrations are few; a year ahead covers anything they can register for.
PERSONAL = Window(timedelta(weeks=4), timedelta(weeks=52), "van 4 weken terug tot een jaar vooruit")
# With ?beroepsgroep=true the meetings for their group and organisation (some 12 a week) are added up to 3 months
# ahead: a year of those would be 0.8 MB, and they are suggestions, not appointments.
PERSONAL_GROUP_AHEAD = timedelta(weeks=13)
# Fragments are kept rendered for the longest look back of any feed (the stale-fragment sweep).
MAX_BACK = max(w.back for w in (WIDE, THEME, BODY, PERSONAL))


def today(now: datetime | None = None) -> datetime:
    """Midnight UTC of the day: the instant every window is measured from."""
    return (now or datetime.now(UTC)).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def bounds(window: Window, day: datetime) -> tuple[datetime, datetime]:
    """(start, end): the feed holds meetings with ends_at > start and starts_at < end."""
    return day - window.back, day + window.ahead


def _next_midnight(moment: datetime) -> datetime:
    """The first midnight UTC at or after `moment`."""
    midnight = today(moment)
    return midnight if midnight == moment else midnight + DAY


def left_window_at(ends_at: datetime, back: timedelta) -> datetime:
    """The midnight at which a meeting ending at `ends_at` dropped out of a window reaching `back`."""
    return _next_midnight(ends_at.astimezone(UTC) + back)


def entered_window_at(starts_at: datetime, ahead: timedelta) -> datetime:
    """The midnight at which a meeting starting at `starts_at` came into a window reaching `ahead`.

    In on day D when starts_at < D + ahead, so from the first midnight strictly after starts_at - ahead.
    """
    return today(starts_at.astimezone(UTC) - ahead) + DAY


def fit(what: str, header: int, sizes: Sequence[int], limit: int | None = None) -> int:
    """How many of the fragments (in start order, of these sizes) a feed keeps; logs when it nears the limit.

    `what` names the feed in the log: never anything personal (no token, no participant). `limit` defaults to
    MAX_FEED_BYTES as it is at the call.
    """
    limit = MAX_FEED_BYTES if limit is None else limit
    total = header + sum(sizes)
    if total <= limit:
        if total > limit * WARN_FRACTION:
            log.warning(
                "calendar feed %s is %d bytes, %.0f%% of the %d byte limit: narrow its window (services/feeds/"
                "windows.py)",
                what,
                total,
                100 * total / limit,
                limit,
            )
        return len(sizes)
    keep = len(sizes)
    while keep and total > limit:
        keep -= 1
        total -= sizes[keep]
    log.error(
        "calendar feed %s would be larger than %d bytes: it leaves out its %d furthest meetings (of %d)",
        what,
        limit,
        len(sizes) - keep,
        len(sizes),
    )
    return keep
