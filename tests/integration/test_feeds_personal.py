"""Personal feeds: a participant's registrations by token; rotation, revocation and unknown tokens."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.calendar import meeting_uid
from services.db import Connection
from services.participants import tokens
from services.settings import Settings
from tests.factories import participant_body
from tests.integration.test_feeds_support import (
    Client,
    assert_timezones_declared,
    assert_wire_format,
    events,
    publish,
    run_feed_jobs,
    unfolded,
)


async def register(client: Client, meeting_id: str, n: int, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/meetings/{meeting_id}/registrations", json={"participant": participant_body(n)}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def feed_url(client: Client, conn: Connection, participant_id: str, **params: str) -> str:
    manage = await tokens.issue(conn, UUID(participant_id), "manage")
    response = await client.post("/api/v1/me/feed", params=params, headers={"Authorization": f"Bearer {manage}"})
    assert response.status_code == 201, response.text
    links = response.json()["links"]
    assert links["webcal"].startswith("webcal://leerkring.test/feeds/p/lkp_")
    return links["https"].removeprefix("https://leerkring.test")  # type: ignore[no-any-return]


async def test_personal_feed_shows_registrations_waitlist_and_offers(
    client: Client, vng: dict[str, str], settings: Settings, conn: Connection
):
    full = await publish(client, vng, title="Vol", capacity=1, waitlist_mode="offer", offer_hours=24)
    mine = await publish(client, vng, title="Mijn bijeenkomst")
    await publish(client, vng, title="Niet van mij")
    other = await register(client, full["id"], 1, vng)
    me = await register(client, full["id"], 2, vng)
    assert me["status"] == "waitlisted"
    await register(client, mine["id"], 2, vng)
    await run_feed_jobs(settings)
    url = await feed_url(client, conn, me["participant_id"])

    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["cache-control"] == "private, no-cache"
    assert_wire_format(response.content)
    assert_timezones_declared(response.text)
    assert "X-WR-CALNAME:Leerkring – mijn bijeenkomsten" in unfolded(response.text)
    found = events(response.text)
    assert set(found) == {meeting_uid(full["id"]), meeting_uid(mine["id"])}
    waiting = found[meeting_uid(full["id"])]
    assert (str(waiting["STATUS"]), str(waiting["SUMMARY"])) == ("TENTATIVE", "Wachtlijst: Vol")
    assert str(waiting["TRANSP"]) == "TRANSPARENT"
    assert str(found[meeting_uid(mine["id"])]["STATUS"]) == "CONFIRMED"
    etag = response.headers["etag"]
    assert (await client.get(url)).content == response.content, "byte-stable"
    assert (await client.get(url, headers={"If-None-Match": etag})).status_code == 304

    # The confirmed participant cancels: my place on the list becomes an offer, and the feed says so.
    cancel = await client.post(f"/api/v1/registrations/{other['id']}/cancel", headers=vng)
    assert cancel.status_code == 200, cancel.text
    changed = await client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    offered = events(changed.text)[meeting_uid(full["id"])]
    assert (str(offered["STATUS"]), str(offered["SUMMARY"])) == ("TENTATIVE", "Plek aangeboden: Vol")

    # A cancelled meeting stays in the feed, visibly cancelled.
    await client.post(f"/api/v1/meetings/{mine['id']}/cancel", headers=vng)
    await run_feed_jobs(settings)
    gone = events((await client.get(url)).text)[meeting_uid(mine["id"])]
    assert (str(gone["STATUS"]), str(gone["SUMMARY"])) == ("CANCELLED", "Geannuleerd: Mijn bijeenkomst")

    head = await client.head(url)
    assert (head.status_code, head.content) == (200, b"")
    assert int(head.headers["content-length"]) > 0
    # Polling a feed writes nothing, not even the token's last use.
    assert await conn.fetchval("SELECT count(*) FROM participant_tokens WHERE last_used_at IS NOT NULL") == 1


async def test_professional_group_meetings_on_request(
    client: Client, vng: dict[str, str], settings: Settings, conn: Connection
):
    audience = {"groups": [], "organisations": [], "regions": []}
    registered = await publish(client, vng, title="Ingeschreven")
    await publish(
        client,
        vng,
        title="Voor Wmo in Den Haag",
        audience={**audience, "groups": ["wmo-consulent"], "organisations": ["GM0518"]},
    )
    await publish(
        client,
        vng,
        title="Voor Wmo in Utrecht",
        audience={**audience, "groups": ["wmo-consulent"], "organisations": ["GM0344"]},
    )
    await publish(client, vng, title="Voor iedereen", audience=audience)
    me = await register(client, registered["id"], 3, vng)  # a wmo-consulent of GM0518 ('s-Gravenhage)
    await run_feed_jobs(settings)

    plain = await feed_url(client, conn, me["participant_id"])
    assert [str(e["SUMMARY"]) for e in events((await client.get(plain)).text).values()] == ["Ingeschreven"]
    with_group = await feed_url(client, conn, me["participant_id"], beroepsgroep="true")
    assert with_group.endswith("?beroepsgroep=true")
    titles = sorted(str(e["SUMMARY"]) for e in events((await client.get(with_group)).text).values())
    assert titles == ["Ingeschreven", "Voor Wmo in Den Haag"]
    assert (await client.get(plain)).status_code == 404, "a new feed URL replaces the earlier one"


async def test_unknown_revoked_and_rotated_tokens_all_get_the_same_404(
    client: Client, vng: dict[str, str], conn: Connection
):
    meeting = await publish(client, vng)
    me = await register(client, meeting["id"], 4, vng)
    old = await feed_url(client, conn, me["participant_id"])
    assert (await client.get(old)).status_code == 200
    new = await feed_url(client, conn, me["participant_id"])
    assert new != old

    rotated = await client.get(old)
    unknown = await client.get("/feeds/p/lkp_" + "A" * 43 + ".ics")
    malformed = await client.get("/feeds/p/niet-een-token.ics")
    no_suffix = await client.get(new.removesuffix(".ics"))
    manage = await tokens.issue(conn, UUID(me["participant_id"]), "manage")
    wrong_purpose = await client.get(f"/feeds/p/{manage}.ics")
    answers = [rotated, unknown, malformed, no_suffix, wrong_purpose]
    assert [a.status_code for a in answers] == [404] * 5
    assert len({a.content for a in answers}) == 1, "no hint whether a token ever existed"
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers)

    headers = {"Authorization": f"Bearer {manage}"}
    assert (await client.delete("/api/v1/me/feed", headers=headers)).status_code == 204
    assert (await client.get(new)).status_code == 404
    assert (await client.post("/api/v1/me/feed", headers=vng)).status_code == 401, "only the participant"
