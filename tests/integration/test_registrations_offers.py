"""Seat offers: an offered seat is held, declined or left to expire, and passes down the waiting list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from litestar.testing import AsyncTestClient

from services.db import Connection, connect
from services.registrations.idempotency import purge_idempotency_keys
from services.registrations.offers import offer_token
from services.seats.service import expire_due_offers
from tests.api import events, published, register, statuses, token_for
from workers.sweeps import SWEEPS

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_offers_pass_down_the_list_when_declined_or_expired(
    client: Client, vng: dict[str, str], conn: Connection
):
    meeting = await published(client, vng, capacity=1, waitlist_mode="offer", offer_hours=24)
    regs = [(await register(client, meeting["id"], n)).json() for n in range(4)]
    await client.post(f"/api/v1/registrations/{regs[0]['id']}/cancel", headers=vng)
    offered = (await client.get(f"/api/v1/registrations/{regs[1]['id']}", headers=vng)).json()
    assert offered["status"] == "offered"
    deadline = datetime.fromisoformat(offered["offer_expires_at"])
    assert timedelta(hours=23) < deadline - datetime.now(UTC) <= timedelta(hours=24)
    promoted = await events(conn, "registration.promoted")
    assert promoted[-1]["mode"] == "offer"
    # A new registration does not take the held seat.
    assert (await register(client, meeting["id"], 9)).json()["status"] == "waitlisted"

    # The decline link declines, and cannot be used to accept.
    url = f"/api/v1/registrations/{regs[1]['id']}"
    decline = offer_token("test-secret", UUID(regs[1]["id"]), "decline")
    forged = await client.post(f"{url}/accept", params={"offerToken": decline})
    assert (forged.status_code, forged.json()["errors"][0]["field"]) == (403, "offerToken")
    declined = await client.post(f"{url}/decline", params={"offer_token": decline})
    assert declined.status_code == 200, declined.text
    assert (declined.json()["status"], declined.json()["end_reason"]) == ("declined", "offer_declined")
    assert (await conn.fetchval("SELECT status FROM registrations WHERE id = $1", UUID(regs[2]["id"]))) == "offered"

    # The next offer runs out; the sweep passes the seat on.
    await conn.execute(
        "UPDATE registrations SET offer_expires_at = now() - interval '1 minute' WHERE id = $1", UUID(regs[2]["id"])
    )
    assert await expire_due_offers(conn) == 1
    assert await expire_due_offers(conn) == 0
    late = await client.post(
        f"/api/v1/registrations/{regs[2]['id']}/accept", headers=await token_for(conn, regs[2]["participant_id"])
    )
    assert late.status_code == 409
    accept = await client.post(
        f"/api/v1/registrations/{regs[3]['id']}/accept", headers=await token_for(conn, regs[3]["participant_id"])
    )
    assert accept.status_code == 200, accept.text
    assert accept.json()["status"] == "confirmed"
    assert [s for _, s, _ in await statuses(conn, meeting["id"])] == [
        "cancelled",
        "declined",
        "cancelled",
        "confirmed",
        "waitlisted",
    ]
    reasons = [e["reason"] for e in await events(conn, "registration.cancelled")]
    assert reasons == ["organiser", "offer_declined", "offer_expired"]
    confirmed = await events(conn, "registration.confirmed")
    assert confirmed[-1]["previous_status"] == "offered"


async def test_an_offer_never_outlasts_the_start(client: Client, vng: dict[str, str], conn: Connection):
    start = datetime.now(UTC) + timedelta(hours=5)
    meeting = await published(
        client,
        vng,
        capacity=1,
        waitlist_mode="offer",
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(hours=2)).isoformat(),
    )
    regs = [(await register(client, meeting["id"], n)).json() for n in range(2)]
    await client.post(f"/api/v1/registrations/{regs[0]['id']}/cancel", headers=vng)
    offered = (await client.get(f"/api/v1/registrations/{regs[1]['id']}", headers=vng)).json()
    assert datetime.fromisoformat(offered["offer_expires_at"]) == datetime.fromisoformat(meeting["starts_at"])


async def test_the_offer_sweep_skips_a_busy_meeting_and_runs_in_the_worker(
    client: Client, vng: dict[str, str], conn: Connection, database_url: str
):
    meeting = await published(client, vng, capacity=1, waitlist_mode="offer")
    regs = [(await register(client, meeting["id"], n)).json() for n in range(3)]
    await client.post(f"/api/v1/registrations/{regs[0]['id']}/cancel", headers=vng)
    await conn.execute("UPDATE registrations SET offer_expires_at = now() - interval '1 s' WHERE status = 'offered'")
    other = await connect(database_url)
    try:
        async with other.transaction():
            await other.execute("SELECT 1 FROM meetings WHERE id = $1 FOR UPDATE", UUID(meeting["id"]))
            assert await expire_due_offers(conn) == 0, "a meeting someone is working on is left for the next run"
    finally:
        await other.close()
    async with conn.transaction():  # as the worker runs it: inside its own sweep transaction
        assert await expire_due_offers(conn) == 1
    assert [s for _, s, _ in await statuses(conn, meeting["id"])] == ["cancelled", "cancelled", "offered"]
    assert expire_due_offers in {s.fn for s in SWEEPS}
    assert purge_idempotency_keys in {s.fn for s in SWEEPS}
