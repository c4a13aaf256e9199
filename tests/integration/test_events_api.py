"""GET /api/v1/events: the event log by cursor, scoped by role, never skipping a late-committing event."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from litestar.testing import AsyncTestClient

from schemas.events import MeetingCancelled, MeetingPublished
from services.db import Connection, connect
from services.outbox import emit
from tests.factories import meeting_body
from workers.testing import emit_published, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]


async def visible(conn: Connection) -> None:
    """Wait until every committed event is past the horizon. Transactions of other databases on this server
    (parallel test sessions) hold it back for a moment: delayed, never skipped, is the contract."""

    async def past_horizon() -> bool:
        return bool(
            await conn.fetchval(
                "SELECT coalesce(max(tx_id) < pg_snapshot_xmin(pg_current_snapshot()), true) FROM outbox"
            )
        )

    await wait_until(past_horizon, within=10)


async def page(client: Client, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_pages_through_events_in_order_and_ends_with_an_empty_page(
    client: Client, admin: dict[str, str], conn: Connection
):
    ids = await emit_published(conn, 5)
    await visible(conn)
    first = await page(client, admin, limit=2)
    assert [e["seq"] for e in first["items"]] == ids[:2]
    event = first["items"][0]
    assert set(event) == {"id", "seq", "type", "occurred_at", "aggregate_id", "version", "payload"}
    assert event["type"] == event["payload"]["type"] == "meeting.published"
    second = await page(client, admin, limit=2, cursor=first["next_cursor"])
    third = await page(client, admin, limit=2, cursor=second["next_cursor"])
    assert [e["seq"] for e in second["items"] + third["items"]] == ids[2:]
    assert third["next_cursor"] is not None, "a partial page still says where to resume"
    done = await page(client, admin, limit=2, cursor=third["next_cursor"])
    assert done == {"items": [], "next_cursor": None}
    # Later, the kept cursor yields exactly what happened since.
    newer = await emit_published(conn, 1)
    await visible(conn)
    assert [e["seq"] for e in (await page(client, admin, cursor=third["next_cursor"]))["items"]] == newer


async def test_filters_by_type_and_aggregate(client: Client, admin: dict[str, str], conn: Connection):
    meeting = uuid4()
    async with conn.transaction():
        await emit(conn, meeting, MeetingPublished(meeting_id=meeting, sequence=0, revision=1))
        await emit(conn, meeting, MeetingCancelled(meeting_id=meeting, sequence=1, revision=2))
    await emit_published(conn, 2)
    await visible(conn)
    cancelled = await page(client, admin, type="meeting.cancelled")
    assert [e["aggregate_id"] for e in cancelled["items"]] == [str(meeting)]
    mine = await page(client, admin, aggregate_id=str(meeting))
    assert [e["type"] for e in mine["items"]] == ["meeting.published", "meeting.cancelled"]


async def test_organisers_see_events_of_their_own_meetings_only(
    client: Client, admin: dict[str, str], vng: dict[str, str], bzk: dict[str, str], conn: Connection
):
    ours = await client.post("/api/v1/meetings", json=meeting_body(), headers=vng)
    theirs = await client.post("/api/v1/meetings", json=meeting_body(organiser_codes=["AOF"]), headers=admin)
    assert theirs.status_code == 201, theirs.text
    for meeting, headers in ((ours.json(), vng), (theirs.json(), admin)):
        published = await client.post(f"/api/v1/meetings/{meeting['id']}/publish", headers=headers)
        assert published.status_code == 200, published.text
    await emit_published(conn, 1)  # an event about no meeting of VNG at all
    await visible(conn)
    seen = await page(client, vng)
    assert [e["aggregate_id"] for e in seen["items"]] == [ours.json()["id"]]
    assert len((await page(client, admin))["items"]) == 3
    funder = await client.get("/api/v1/events", headers=bzk)
    assert funder.status_code == 403
    assert (await client.get("/api/v1/events")).status_code == 401


async def test_an_event_committed_late_is_not_skipped(
    client: Client, admin: dict[str, str], conn: Connection, database_url: str
):
    [before] = await emit_published(conn, 1)
    await visible(conn)
    start = await page(client, admin)
    assert [e["seq"] for e in start["items"]] == [before]
    slow = await connect(database_url)
    try:
        transaction = slow.transaction()
        await transaction.start()
        late = uuid4()
        await emit(slow, late, MeetingPublished(meeting_id=late, sequence=0, revision=1))  # takes the lower id
        [quick] = await emit_published(conn, 1)  # commits first, with a higher id
        held = await page(client, admin, cursor=start["next_cursor"])
        assert held["items"] == [], "held back while an older transaction may still add events before it"
        await transaction.commit()
    finally:
        await slow.close()
    await visible(conn)
    after = await page(client, admin, cursor=start["next_cursor"])
    late_event, quick_event = after["items"]
    assert UUID(late_event["aggregate_id"]) == late, "the late one comes first: it belongs to the older transaction"
    assert quick_event["seq"] == quick


async def test_bad_parameters_are_explained(client: Client, admin: dict[str, str]):
    unknown = await client.get("/api/v1/events", params={"type": "meeting.exploded"}, headers=admin)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "type"
    bad_cursor = await client.get("/api/v1/events", params={"cursor": "bm9wZQ"}, headers=admin)
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["errors"][0]["field"] == "cursor"
    too_many = await client.get("/api/v1/events", params={"limit": 1000}, headers=admin)
    assert too_many.status_code in (400, 422)
