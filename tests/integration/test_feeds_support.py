"""Helpers for the feed tests: publish meetings, run the fragment job as a worker would, read feeds strictly."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
from ical.calendar import Calendar
from ical.calendar_stream import IcsCalendarStream
from litestar.testing import AsyncTestClient

from services.db import create_pool
from services.feeds.cache import FeedCache
from services.settings import Settings
from tests.factories import meeting_body
from workers.jobs.feeds import render_meeting_fragment

Client = AsyncTestClient  # type: ignore[type-arg]


def fresh_cache(client: Client, recheck_seconds: float = 0.0) -> FeedCache:
    """Give the app a feed cache that asks PostgreSQL for the generation on every request (tests stay fast)."""
    cache = FeedCache(recheck_seconds=recheck_seconds)
    client.app.state.feed_cache = cache
    return cache


def soon(days: int = 14) -> dict[str, str]:
    """Start and end `days` from now: inside every feed's window (the public feed looks 4 weeks ahead)."""
    start = (datetime.now(UTC) + timedelta(days=days)).replace(hour=8, minute=0, second=0, microsecond=0)
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat()}


async def create(client: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """A draft meeting; unless told otherwise two weeks from now, so it is inside every feed's window."""
    if "starts_at" not in overrides:
        overrides = {**soon(), **overrides}
    response = await client.post("/api/v1/meetings", json=meeting_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def publish(client: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    meeting = await create(client, headers, **overrides)
    response = await client.post(f"/api/v1/meetings/{meeting['id']}/publish", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@asynccontextmanager
async def worker_ctx(settings: Settings) -> AsyncIterator[dict[str, Any]]:
    """The parts of a worker's ctx the fragment job reads."""
    assert settings.database_url
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        yield {"pool": pool, "settings": settings}
    finally:
        await pool.close()


async def run_feed_jobs(settings: Settings) -> int:
    """Run render_meeting_fragment for every meeting event in the outbox, as the relay would route them."""
    async with worker_ctx(settings) as ctx:
        ids = await ctx["pool"].fetch("SELECT id FROM outbox WHERE type LIKE 'meeting.%' ORDER BY id")
        for row in ids:
            await render_meeting_fragment(ctx, row["id"])
        return len(ids)


def parse_both(text: str) -> tuple[icalendar.Calendar, Calendar]:
    return icalendar.Calendar.from_ical(text), IcsCalendarStream.calendar_from_ics(text)


def assert_wire_format(data: bytes) -> None:
    """CALENDAR-INTEROP A1-A4: UTF-8 without BOM, CRLF only, no blank lines, lines of at most 75 octets."""
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"\r\n")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert b"\n" not in data.replace(b"\r\n", b"")
    lines = data[:-2].split(b"\r\n")
    assert all(lines), "no blank lines"
    assert all(len(line) <= 75 for line in lines)
    for line in lines:
        line.decode("utf-8")  # every physical line is whole UTF-8: folds never split a character
    assert not re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", data.replace(b"\r\n", b""))


def unfolded(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def assert_timezones_declared(text: str) -> None:
    """A10: a VTIMEZONE for every TZID used, and no floating times."""
    lines = unfolded(text)
    used = {m for line in lines for m in re.findall(r";TZID=([^;:]+)", line)}
    declared = {line.removeprefix("TZID:") for line in lines if line.startswith("TZID:")}
    assert used <= declared, (used, declared)
    in_event = False
    for line in lines:
        in_event = (in_event or line == "BEGIN:VEVENT") and line != "END:VEVENT"
        if in_event and line.startswith(("DTSTART", "DTEND")):
            assert ";TZID=" in line or line.endswith("Z"), line


def events(text: str) -> dict[str, icalendar.Event]:
    """The VEVENTs by UID, checked to be unique (A7) and to parse the same in both parsers (A16)."""
    lenient, strict = parse_both(text)
    found = {str(e["UID"]): e for e in lenient.walk("VEVENT")}
    assert len(found) == len(lenient.walk("VEVENT")), "UIDs are unique within a feed"
    assert sorted(e.uid for e in strict.events) == sorted(found)
    return found


def summaries(text: str) -> list[str]:
    return sorted(str(e["SUMMARY"]) for e in events(text).values())
