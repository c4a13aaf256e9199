"""Feeds of organising and funding bodies, each feed kind's window, and entries that follow renames and the base URL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from services.calendar import meeting_uid
from services.db import Connection
from services.feeds import windows
from services.feeds.fragments import refresh_stale_fragments
from services.settings import Settings
from tests.integration.test_feeds_personal import feed_url, register
from tests.integration.test_feeds_support import (
    Client,
    assert_wire_format,
    events,
    fresh_cache,
    publish,
    run_feed_jobs,
    summaries,
    unfolded,
)


def at(days: int) -> dict[str, str]:
    start = (datetime.now(UTC) + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()}


async def test_organising_and_funding_bodies_get_a_feed_of_their_own_meetings(
    client: Client, vng: dict[str, str], admin: dict[str, str], settings: Settings, conn: Connection
):
    fresh_cache(client)
    await publish(client, vng, title="Van VNG, door AOF betaald", funder_codes=["AOF"])
    await publish(client, vng, title="Van VNG, door BZK betaald", funder_codes=["BZK"])
    await publish(client, admin, title="Van BZK zelf", organiser_codes=["BZK"], funder_codes=[])
    await run_feed_jobs(settings)

    vng_feed = await client.get("/feeds/organisations/VNG.ics")
    assert vng_feed.status_code == 200, vng_feed.text
    assert_wire_format(vng_feed.content)
    assert summaries(vng_feed.text) == ["Van VNG, door AOF betaald", "Van VNG, door BZK betaald"]
    assert "X-WR-CALNAME:Leerkring – bijeenkomsten van Vereniging van Nederlandse Gemeenten" in unfolded(vng_feed.text)
    # Organised or funded: BZK funds one of VNG's meetings and organises one of its own.
    assert summaries((await client.get("/feeds/organisations/bzk.ics")).text) == [
        "Van BZK zelf",
        "Van VNG, door BZK betaald",
    ]
    assert summaries((await client.get("/feeds/organisations/AOF.ics")).text) == ["Van VNG, door AOF betaald"]

    # Revalidation like every shared feed.
    etag = vng_feed.headers["etag"]
    same = await client.get("/feeds/organisations/VNG.ics", headers={"If-None-Match": etag})
    assert (same.status_code, same.content) == (304, b"")
    await publish(client, vng, title="Nog een van VNG", funder_codes=[])
    await run_feed_jobs(settings)
    moved = await client.get("/feeds/organisations/VNG.ics", headers={"If-None-Match": etag})
    assert moved.status_code == 200
    assert "Nog een van VNG" in summaries(moved.text)
    assert (await client.get("/feeds/organisations/ONBEKEND.ics")).status_code == 404

    links = await client.get("/api/v1/feeds/links", params={"feed": "organisations/vng"})
    assert links.status_code == 200, links.text
    assert links.json()["https"] == "https://leerkring.test/feeds/organisations/VNG.ics"
    assert "georganiseerd of gefinancierd" in links.json()["description"]


async def test_each_feed_kind_reaches_as_far_as_its_window(
    client: Client, vng: dict[str, str], settings: Settings, conn: Connection
):
    """Public and group feeds: 4 weeks ahead; a body: 6 weeks; a theme: 3 months; a personal feed: a year."""
    fresh_cache(client)
    made = {}
    for days in (10, 35, 80, 300, 400):
        made[days] = await publish(client, vng, title=f"Over {days} dagen", themes=["de-bedoeling"], **at(days))
    person = await register(client, made[300]["id"], 1, vng)
    await register(client, made[400]["id"], 1, vng)
    await run_feed_jobs(settings)

    def titles(text: str) -> list[str]:
        return sorted(summaries(text), key=lambda t: int(t.split()[1]))

    assert titles((await client.get("/feeds/public.ics")).text) == ["Over 10 dagen"]
    assert titles((await client.get("/feeds/groups/wmo-consulent.ics")).text) == ["Over 10 dagen"]
    assert titles((await client.get("/feeds/organisations/VNG.ics")).text) == ["Over 10 dagen", "Over 35 dagen"]
    assert titles((await client.get("/feeds/themes/de-bedoeling.ics")).text) == [
        "Over 10 dagen",
        "Over 35 dagen",
        "Over 80 dagen",
    ]

    mine = await client.get(await feed_url(client, conn, person["participant_id"]))
    assert titles(mine.text) == ["Over 300 dagen"], "a year ahead"

    # The subscribe links say which window each feed covers, in Dutch.
    public = (await client.get("/api/v1/feeds/links", params={"feed": "public"})).json()
    assert "4 weken vooruit" in public["window"]
    assert "1 week terug" in public["window"]
    theme = (await client.get("/api/v1/feeds/links", params={"feed": "themes/de-bedoeling"})).json()
    assert "3 maanden vooruit" in theme["window"]
    assert theme["description"]


async def test_entries_follow_renames_and_the_configured_base_url(
    client: Client, vng: dict[str, str], admin: dict[str, str], settings: Settings, conn: Connection
):
    fresh_cache(client)
    meeting = await publish(client, vng, title="Hernoemd", themes=["de-bedoeling"])
    await run_feed_jobs(settings)
    uid = meeting_uid(meeting["id"])
    before = events((await client.get("/feeds/public.ics")).text)[uid]
    assert [str(c) for c in before["CATEGORIES"].cats] == ["De bedoeling"]
    assert before["ORGANIZER"].params["CN"] == "Vereniging van Nederlandse Gemeenten"

    renamed = await client.put(
        "/api/v1/themes", json={"slug": "de-bedoeling", "name": "De bedoeling centraal"}, headers=admin
    )
    assert renamed.status_code == 200, renamed.text
    csv = "code,name,kind\nVNG,VNG (Vereniging van Nederlandse Gemeenten),organiser\n"
    imported = await client.post(
        "/api/v1/organisations/import", files={"data": ("bodies.csv", csv, "text/csv")}, headers=admin
    )
    assert imported.status_code == 200, imported.text
    assert await refresh_stale_fragments(conn, settings) == 1, "the sweep renders the renamed entry anew"
    after = events((await client.get("/feeds/public.ics")).text)[uid]
    assert [str(c) for c in after["CATEGORIES"].cats] == ["De bedoeling centraal"]
    assert after["ORGANIZER"].params["CN"] == "VNG (Vereniging van Nederlandse Gemeenten)"
    assert str(after["URL"]) == f"https://leerkring.test/bijeenkomsten/{meeting['id']}"

    # A worker configured with another public address renders every entry for it, no edit needed.
    moved = msgspec.structs.replace(settings, base_url="https://leerkring.vng.nl")
    assert await refresh_stale_fragments(conn, moved) == 1
    assert await refresh_stale_fragments(conn, moved) == 0
    entry = events((await client.get("/feeds/public.ics")).text)[uid]
    assert str(entry["URL"]) == f"https://leerkring.vng.nl/bijeenkomsten/{meeting['id']}"
    assert f"https://leerkring.vng.nl/bijeenkomsten/{meeting['id']}" in str(entry["DESCRIPTION"])


async def test_a_feed_that_would_pass_the_limit_keeps_its_nearest_meetings_and_says_so(
    client: Client,
    vng: dict[str, str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    fresh_cache(client)
    for days in (3, 5, 7):
        await publish(client, vng, title=f"Over {days} dagen", **at(days))
    await run_feed_jobs(settings)
    whole = await client.get("/feeds/public.ics")
    # A limit that the header and two of the three entries fit under, as 5,000 meetings a week would need.
    last = whole.content.rindex(b"BEGIN:VEVENT")
    monkeypatch.setattr(windows, "MAX_FEED_BYTES", last + len(b"END:VCALENDAR\r\n"))
    fresh_cache(client)
    caplog.set_level(logging.WARNING, logger=windows.__name__)
    cut = await client.get("/feeds/public.ics")
    assert cut.status_code == 200
    assert_wire_format(cut.content)
    assert sorted(summaries(cut.text)) == ["Over 3 dagen", "Over 5 dagen"], "the furthest meeting goes"
    assert len(cut.content) <= windows.MAX_FEED_BYTES
    (record,) = [r for r in caplog.records if r.name == windows.__name__]
    assert record.levelname == "ERROR"
    assert "public" in record.getMessage()
    assert "1 furthest meetings (of 3)" in record.getMessage()
