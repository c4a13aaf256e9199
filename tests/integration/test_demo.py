"""The demo programme looks like a real one, whatever day it is loaded on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from localdev import demo_calendar
from localdev.demo import PROGRAMME, load_demo
from services.auth.keys import authenticate
from services.db import Connection

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


async def test_demo_programme(conn: Connection):
    """Whichever day this runs (the calendar rules themselves: tests/unit/test_demo_calendar.py)."""
    result = await load_demo(conn)
    today = datetime.now(UTC).astimezone(AMSTERDAM).date()
    assert result.meetings == len(PROGRAMME) == 12
    assert result.admin_key
    assert result.organiser_key
    funder = await authenticate(conn, f"Bearer {result.funder_key}")
    assert (funder.role, funder.organisation_code) == ("funder", "AOF"), "the funder of every demo meeting"
    rows = await conn.fetch(
        "SELECT m.title, m.starts_at, m.ends_at, m.format, m.themes, m.capacity, m.confirmed_count, "
        "m.waitlisted_count, s.title AS series FROM meetings m LEFT JOIN series s ON s.id = m.series_id "
        "ORDER BY m.starts_at"
    )
    for row in rows:
        starts, ends = row["starts_at"].astimezone(AMSTERDAM), row["ends_at"].astimezone(AMSTERDAM)
        assert demo_calendar.is_working_day(starts.date()), (row["title"], starts)
        assert (starts.time(), ends.time()) in {demo_calendar.MORNING, demo_calendar.AFTERNOON}, row["title"]
        assert starts.date() == ends.date()
    assert {row["format"] for row in rows} >= {"casuistiekbespreking", "intervisie", "teamcoaching", "rollenspel",
                                                "leren-op-locatie"}  # fmt: skip
    assert {t for row in rows for t in row["themes"]} >= {"de-bedoeling", "vraagverheldering", "netwerkend-werken",
                                                          "zelfsturende-teams"}  # fmt: skip
    series = [row["series"] for row in rows if row["series"]]
    assert len(set(series)) == 2, "two series"
    assert all(series.count(s) == 3 for s in series), "of three meetings each"

    past = [row for row in rows if row["ends_at"] < datetime.now(UTC)]
    assert [row["title"] for row in past] == ["Terugblik: de bedoeling in de Wmo-toegang"]
    attendance = await conn.fetch(
        "SELECT a.status, count(*) FROM attendance a JOIN meetings m ON m.id = a.meeting_id "
        "WHERE m.title = $1 GROUP BY a.status ORDER BY a.status",
        past[0]["title"],
    )
    assert [(r["status"], r["count"]) for r in attendance] == [("attended", 8), ("no_show", 2)]

    full = [row for row in rows if row["waitlisted_count"]]
    assert len(full) == 1
    assert full[0]["confirmed_count"] == full[0]["capacity"]
    assert full[0]["waitlisted_count"] == 4
    assert not any(row["starts_at"].date() in {date(today.year, 12, 25), date(today.year + 1, 1, 1)} for row in rows)
