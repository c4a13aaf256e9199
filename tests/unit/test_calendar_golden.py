"""A whole feed compared byte for byte with a reviewed file; DTSTAMP is fixed in the input, so no normalising.

After an intended change, regenerate with LEERKRING_UPDATE_GOLDEN=1 and review the diff like code.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from ical.calendar_stream import IcsCalendarStream

from services.calendar import CalendarMeeting, render_feed, render_vevent

GOLDEN = Path(__file__).parent / "golden" / "calendar_feed.ics"
AMS = ZoneInfo("Europe/Amsterdam")
TOKYO = ZoneInfo("Asia/Tokyo")


def _meetings() -> list[CalendarMeeting]:
    common: dict[str, Any] = {
        "organizer_name": "de Vries, Zoë",
        "organizer_email": "zoe@vng.nl",
        "dtstamp": datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
    }
    return [
        CalendarMeeting(
            uid="0b6f3c1e-6a43-4c1b-9d55-5e1f0c2b7a10@leerkring.nl",
            sequence=0,
            starts_at=datetime(2025, 3, 14, 14, 0, tzinfo=AMS),
            ends_at=datetime(2025, 3, 14, 16, 30, tzinfo=AMS),
            timezone="Europe/Amsterdam",
            title="Intervisie jeugdzorg; regio Zuid, ronde 2 🎉",
            description="Agenda:\r\n1. Welkom\n2. Casus (zie \\\\share)\r3. Afronden, borrel bij ’t Hoekje",
            location="Stadhuis, zaal 3 — Ëindhoven",
            url="https://leerkring.nl/bijeenkomsten/42",
            online_url="https://meet.example.nl/abc-def",
            categories=("Jeugd", "Intervisie, regio"),
            **common,
        ),
        CalendarMeeting(
            uid="7d1e2f30-1111-4c1b-9d55-5e1f0c2b7a10@leerkring.nl",
            sequence=2,
            starts_at=datetime(2025, 7, 3, 9, 0, tzinfo=AMS),
            ends_at=datetime(2025, 7, 3, 12, 0, tzinfo=AMS),
            timezone="Europe/Amsterdam",
            title="Zomersessie Wmo",
            status="cancelled",
            **common,
        ),
        CalendarMeeting(
            uid="c0ffee00-2222-4c1b-9d55-5e1f0c2b7a10@leerkring.nl",
            sequence=1,
            starts_at=datetime(2025, 11, 20, 9, 0, tzinfo=TOKYO),
            ends_at=datetime(2025, 11, 20, 10, 0, tzinfo=TOKYO),
            timezone="Asia/Tokyo",
            title="社会福祉の研修 — kennisuitwisseling met Tokio",
            online_url="https://meet.example.nl/tokio",
            **common,
        ),
    ]


def _render() -> bytes:
    meetings = _meetings()
    fragments = [render_vevent(m, for_feed=True) for m in meetings]
    text = render_feed("Leerkring – VNG", fragments, [m.timezone for m in meetings], description="Alle bijeenkomsten")
    return text.encode("utf-8")


def test_feed_matches_golden_file() -> None:
    data = _render()
    if os.environ.get("LEERKRING_UPDATE_GOLDEN") == "1":
        GOLDEN.write_bytes(data)
    assert data == GOLDEN.read_bytes()


def test_golden_file_parses_in_both_parsers() -> None:
    text = GOLDEN.read_bytes().decode("utf-8")
    lenient = icalendar.Calendar.from_ical(text)
    strict = IcsCalendarStream.calendar_from_ics(text)
    assert len(lenient.walk("VEVENT")) == len(strict.events) == 3
    assert [e.summary for e in strict.events] == [
        "Intervisie jeugdzorg; regio Zuid, ronde 2 🎉",
        "Geannuleerd: Zomersessie Wmo",
        "社会福祉の研修 — kennisuitwisseling met Tokio",
    ]
    assert strict.events[0].dtstart == datetime(2025, 3, 14, 13, 0, tzinfo=UTC)
    assert strict.events[2].dtstart == datetime(2025, 11, 20, 0, 0, tzinfo=UTC)
