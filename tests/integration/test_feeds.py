"""Shared calendar feeds against a real database: contents, interop rules, changes arriving through the job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from services.calendar import meeting_uid
from services.db import Connection
from services.feeds.fragments import refresh_stale_fragments
from services.settings import Settings
from tests.integration.test_feeds_support import (
    Client,
    assert_timezones_declared,
    assert_wire_format,
    create,
    events,
    fresh_cache,
    parse_both,
    publish,
    run_feed_jobs,
    summaries,
    unfolded,
)


async def test_public_feed_holds_published_and_cancelled_meetings_never_drafts(
    client: Client, vng: dict[str, str], settings: Settings
):
    fresh_cache(client)
    shown = await publish(
        client, vng, title="Intervisie Wmo", online_url="https://meet.example.nl/abc", timezone="Europe/Amsterdam"
    )
    cancelled = await publish(client, vng, title="Rollenspel jeugd")
    await create(client, vng, title="Nog een concept")
    assert (await client.post(f"/api/v1/meetings/{cancelled['id']}/cancel", headers=vng)).status_code == 200
    await run_feed_jobs(settings)

    response = await client.get("/feeds/public.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "content-encoding" not in response.headers, "no gzip unless asked (B2)"
    data = response.content
    assert_wire_format(data)
    text = data.decode()
    assert_timezones_declared(text)
    lines = unfolded(text)
    assert "X-WR-CALNAME:Leerkring – alle bijeenkomsten" in lines
    assert "NAME:Leerkring – alle bijeenkomsten" in lines
    assert "X-WR-TIMEZONE:Europe/Amsterdam" in lines
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in lines
    assert "METHOD:PUBLISH" in lines
    assert lines.index("X-WR-CALNAME:Leerkring – alle bijeenkomsten") < lines.index("BEGIN:VTIMEZONE")

    found = events(text)
    assert set(found) == {meeting_uid(shown["id"]), meeting_uid(cancelled["id"])}
    event = found[meeting_uid(shown["id"])]
    assert str(event["SUMMARY"]) == "Intervisie Wmo"
    assert str(event["URL"]) == f"https://leerkring.test/bijeenkomsten/{shown['id']}"
    assert "meet.example.nl" not in str(event["DESCRIPTION"]), "the online link is for registered participants"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event["DTSTAMP"].dt == datetime.fromisoformat(shown["updated_at"]).replace(microsecond=0)
    assert event["DTSTART"].dt == datetime.fromisoformat(shown["starts_at"])
    assert str(event["DTSTART"].params["TZID"]) == "Europe/Amsterdam"
    assert event["SEQUENCE"] == 0

    gone = found[meeting_uid(cancelled["id"])]
    assert str(gone["STATUS"]) == "CANCELLED"
    assert str(gone["SUMMARY"]) == "Geannuleerd: Rollenspel jeugd"
    assert str(gone["TRANSP"]) == "TRANSPARENT"
    assert gone["SEQUENCE"] == 1, "cancelling raises SEQUENCE"


async def test_feed_is_byte_stable_and_revalidates_with_etag_and_last_modified(
    client: Client, vng: dict[str, str], settings: Settings, conn: Connection
):
    fresh_cache(client)
    await publish(client, vng)
    await run_feed_jobs(settings)
    # Last-Modified is only sent once it has settled for a few seconds; date the change back instead of waiting.
    await conn.execute("UPDATE feed_changes SET changed_at = changed_at - interval '1 minute'")

    first = await client.get("/feeds/public.ics")
    second = await client.get("/feeds/public.ics")
    assert first.content == second.content, "byte-stable while nothing changes (B4)"
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert second.headers["etag"] == etag
    assert second.headers["last-modified"] == modified

    same = await client.get("/feeds/public.ics", headers={"If-None-Match": etag})
    assert (same.status_code, same.content) == (304, b"")
    assert same.headers["etag"] == etag
    weak_in_list = await client.get("/feeds/public.ics", headers={"If-None-Match": f'"x", W/{etag}'})
    assert weak_in_list.status_code == 304
    stale = await client.get("/feeds/public.ics", headers={"If-None-Match": '"lk1-000000000000000000000000"'})
    assert (stale.status_code, stale.content) == (200, first.content)

    assert (await client.get("/feeds/public.ics", headers={"If-Modified-Since": modified})).status_code == 304
    older = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert (await client.get("/feeds/public.ics", headers={"If-Modified-Since": older})).status_code == 200
    garbage = await client.get("/feeds/public.ics", headers={"If-Modified-Since": "gisteren"})
    assert garbage.status_code == 200
    # If-None-Match decides when both are present (RFC 9110 13.2.2): a stale tag wins over a current date.
    both = await client.get("/feeds/public.ics", headers={"If-None-Match": '"oud"', "If-Modified-Since": modified})
    assert both.status_code == 200

    head = await client.head("/feeds/public.ics")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(first.content))
    assert head.headers["etag"] == etag
    assert (await client.head("/feeds/public.ics", headers={"If-None-Match": etag})).status_code == 304


async def test_a_change_shows_up_after_the_job_ran_and_etag_and_date_move(
    client: Client, vng: dict[str, str], settings: Settings, conn: Connection
):
    fresh_cache(client)
    meeting = await publish(client, vng, title="Eerste titel")
    await run_feed_jobs(settings)
    await conn.execute("UPDATE feed_changes SET changed_at = changed_at - interval '1 minute'")
    before = await client.get("/feeds/public.ics")
    etag, modified = before.headers["etag"], before.headers["last-modified"]

    later = datetime.fromisoformat(meeting["starts_at"]) + timedelta(hours=2)
    patch = {
        "title": "Tweede titel",
        "starts_at": later.isoformat(),
        "ends_at": (later + timedelta(hours=2)).isoformat(),
    }
    assert (await client.patch(f"/api/v1/meetings/{meeting['id']}", json=patch, headers=vng)).status_code == 200
    waiting = await client.get("/feeds/public.ics", headers={"If-None-Match": etag})
    assert waiting.status_code == 304, "until the job ran, the stored fragment is what the feed holds"

    await run_feed_jobs(settings)
    changed = await client.get("/feeds/public.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    event = events(changed.text)[meeting_uid(meeting["id"])]
    assert str(event["SUMMARY"]) == "Tweede titel"
    assert event["SEQUENCE"] == 1, "a new time raises SEQUENCE (A8)"
    assert event["DTSTART"].dt == later
    # The old date no longer validates, and the new one is not sent until it has settled.
    assert (await client.get("/feeds/public.ics", headers={"If-Modified-Since": modified})).status_code == 200
    assert "last-modified" not in changed.headers

    await run_feed_jobs(settings)  # running the job again changes nothing
    assert (
        await client.get("/feeds/public.ics", headers={"If-None-Match": changed.headers["etag"]})
    ).status_code == 304


async def test_theme_group_and_organisation_feeds_select_their_meetings(
    client: Client, vng: dict[str, str], settings: Settings
):
    fresh_cache(client)
    audience = {"groups": [], "organisations": [], "regions": []}
    await publish(client, vng, title="Voor iedereen", themes=["vraagverheldering"], audience=audience)
    await publish(
        client,
        vng,
        title="Wmo Den Haag",
        audience={**audience, "groups": ["wmo-consulent"], "organisations": ["GM0518"]},
    )
    await publish(client, vng, title="Zuid-Holland", audience={**audience, "regions": ["PV28"]})
    await publish(client, vng, title="Haaglanden", audience={**audience, "regions": ["VR15"]})
    await publish(
        client,
        vng,
        title="Jeugd Utrecht",
        audience={**audience, "groups": ["jeugdconsulent"], "organisations": ["GM0344"]},
    )
    await run_feed_jobs(settings)

    theme = await client.get("/feeds/themes/vraagverheldering.ics")
    assert summaries(theme.text) == ["Voor iedereen"]
    assert "X-WR-CALNAME:Leerkring – thema Vraagverheldering" in unfolded(theme.text)

    wmo = await client.get("/feeds/groups/wmo-consulent.ics")
    assert summaries(wmo.text) == ["Haaglanden", "Voor iedereen", "Wmo Den Haag", "Zuid-Holland"]
    assert "X-WR-CALNAME:Leerkring – beroepsgroep Wmo-consulent" in unfolded(wmo.text)

    # 's-Gravenhage lies in province PV28 and safety region VR15: it is reached all three ways.
    den_haag = await client.get("/feeds/organisations/gm0518.ics")
    assert summaries(den_haag.text) == ["Haaglanden", "Voor iedereen", "Wmo Den Haag", "Zuid-Holland"]
    assert "X-WR-CALNAME:Leerkring – gemeente 's-Gravenhage" in unfolded(den_haag.text)
    utrecht = await client.get("/feeds/organisations/GM0344.ics")
    assert summaries(utrecht.text) == ["Jeugd Utrecht", "Voor iedereen"]

    for path in (
        "/feeds/themes/bestaat-niet.ics",
        "/feeds/groups/wmo-consulent.json",
        "/feeds/organisations/GM9999.ics",
        "/feeds/themes/Hoofdletters.ics",
    ):
        missing = await client.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"] == "application/problem+json"


async def test_a_meeting_moving_between_feeds_leaves_one_and_enters_the_other(
    client: Client, vng: dict[str, str], settings: Settings
):
    fresh_cache(client)
    meeting = await publish(client, vng, title="Verhuizer", themes=["de-bedoeling"])
    await run_feed_jobs(settings)
    old_theme = await client.get("/feeds/themes/de-bedoeling.ics")
    assert summaries(old_theme.text) == ["Verhuizer"]
    patch = {"themes": ["netwerkend-werken"]}
    assert (await client.patch(f"/api/v1/meetings/{meeting['id']}", json=patch, headers=vng)).status_code == 200
    await run_feed_jobs(settings)
    left = await client.get("/feeds/themes/de-bedoeling.ics", headers={"If-None-Match": old_theme.headers["etag"]})
    assert left.status_code == 200
    assert summaries(left.text) == []
    assert summaries((await client.get("/feeds/themes/netwerkend-werken.ics")).text) == ["Verhuizer"]


async def test_meetings_leave_the_feed_some_weeks_after_their_date(
    client: Client, vng: dict[str, str], settings: Settings, conn: Connection
):
    fresh_cache(client)
    recent = await publish(client, vng, title="Net geweest")
    old = await publish(client, vng, title="Lang geleden")
    cancelled = await publish(client, vng, title="Lang geleden geannuleerd")
    await client.post(f"/api/v1/meetings/{cancelled['id']}/cancel", headers=vng)
    await run_feed_jobs(settings)
    assert len(summaries((await client.get("/feeds/public.ics")).text)) == 3
    # Let time pass (the API refuses dates in the past): the stored fragments now lie 3 and 10 days back, past the
    # public feed's week.
    now = datetime.now(UTC)
    for meeting, ago in ((recent, timedelta(days=3)), (old, timedelta(days=10)), (cancelled, timedelta(days=10))):
        await conn.execute(
            "UPDATE meeting_fragments SET starts_at = $2, ends_at = $2::timestamptz + interval '2 hours' "
            "WHERE meeting_id = $1",
            UUID(meeting["id"]),
            now - ago,
        )
    fresh_cache(client)  # a new day: the cutoff moved (the cache token holds it)
    assert summaries((await client.get("/feeds/public.ics")).text) == ["Net geweest"]


async def test_the_sweep_renders_fragments_whose_job_never_ran(
    client: Client, vng: dict[str, str], settings: Settings, conn: Connection
):
    fresh_cache(client)
    meeting = await publish(client, vng, title="Zonder job")
    assert summaries((await client.get("/feeds/public.ics")).text) == []
    assert await refresh_stale_fragments(conn, settings) == 1
    assert await refresh_stale_fragments(conn, settings) == 0, "nothing is stale any more"
    assert meeting_uid(meeting["id"]) in events((await client.get("/feeds/public.ics")).text)


async def test_hostile_text_is_escaped_and_folded(client: Client, vng: dict[str, str], settings: Settings):
    fresh_cache(client)
    description = (
        "Regel één\r\nATTENDEE:mailto:aanvaller@example.com\rEND:VEVENT\nBEGIN:VEVENT\n"
        + "Zoë 👩🏽‍⚕️ en 🇳🇱; komma, puntkomma; backslash \\ "
        + "heel lang " * 40
    )
    meeting = await publish(client, vng, title="Titel, met; tekens \\ en 🧑‍🤝‍🧑 " + "é" * 60, description=description)
    await run_feed_jobs(settings)
    data = (await client.get("/feeds/public.ics")).content
    assert_wire_format(data)
    text = data.decode()
    lenient, strict = parse_both(text)
    assert len(strict.events) == 1, "no injected VEVENT"
    assert len(lenient.walk("VEVENT")) == 1
    event = lenient.walk("VEVENT")[0]
    assert "ATTENDEE" not in event
    assert str(event["SUMMARY"]) == meeting["title"]
    assert str(event["DESCRIPTION"]).startswith("Regel één\nATTENDEE:mailto:aanvaller@example.com\nEND:VEVENT")
    assert strict.events[0].summary == meeting["title"]


async def test_links_for_subscribing(client: Client, vng: dict[str, str]):
    response = await client.get("/api/v1/feeds/links", params={"feed": "themes/de-bedoeling"})
    assert response.status_code == 200, response.text
    links = response.json()
    assert links["https"] == "https://leerkring.test/feeds/themes/de-bedoeling.ics"
    assert links["webcal"] == "webcal://leerkring.test/feeds/themes/de-bedoeling.ics"
    assert links["google"] == (
        "https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Fleerkring.test%2Ffeeds%2Fthemes%2Fde-bedoeling.ics"
    )
    assert links["outlook"].startswith(
        "https://outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2Fleerkring.test"
    )
    assert "name=Leerkring%20%E2%80%93%20thema%20De%20bedoeling" in links["outlook"]
    org = (await client.get("/api/v1/feeds/links", params={"feed": "organisations/gm0518"})).json()
    assert org["https"].endswith("/feeds/organisations/GM0518.ics")
    assert (await client.get("/api/v1/feeds/links", params={"feed": "themes/onbekend"})).status_code == 404
    assert (await client.get("/api/v1/feeds/links", params={"feed": "../../etc"})).status_code in (400, 422)


async def test_a_meeting_off_the_agenda_is_in_no_list_or_shared_feed_until_it_is_listed(
    client: Client, vng: dict[str, str], settings: Settings
):
    fresh_cache(client)
    shown = await publish(client, vng, title="Op de agenda", themes=["de-bedoeling"])
    hidden = await publish(client, vng, title="Alleen voor de kring", themes=["de-bedoeling"], listed=False)
    assert hidden["listed"] is False
    await run_feed_jobs(settings)
    feeds = ("/feeds/public.ics", "/feeds/themes/de-bedoeling.ics", "/feeds/organisations/VNG.ics")
    for path in feeds:
        assert summaries((await client.get(path)).text) == ["Op de agenda"], path
    public = await client.get("/api/v1/meetings", params={"status": "published"})
    assert [m["title"] for m in public.json()["items"]] == [shown["title"]]
    own = await client.get("/api/v1/meetings", params={"status": "published"}, headers=vng)
    assert {m["title"] for m in own.json()["items"]} == {"Op de agenda", "Alleen voor de kring"}
    page = await client.get(f"/api/v1/meetings/{hidden['id']}")
    assert page.status_code == 200, "whoever has the link still finds the meeting"

    listed = await client.patch(f"/api/v1/meetings/{hidden['id']}", json={"listed": True}, headers=vng)
    assert listed.status_code == 200, listed.text
    await run_feed_jobs(settings)
    for path in feeds:
        assert summaries((await client.get(path)).text) == ["Alleen voor de kring", "Op de agenda"], path
