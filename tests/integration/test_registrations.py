"""Registering, the waiting list, cancelling, offers and RSVP against a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from schemas.events import RegistrationConfirmed, RegistrationWaitlisted, event_type
from services.db import Connection
from services.outbox import EVENT_VERSION, event_from_row
from services.participants import tokens
from tests.api import events, published, register, statuses, token_for
from tests.factories import meeting_body, participant_body

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_seats_first_then_the_waiting_list_in_order(client: Client, vng: dict[str, str], conn: Connection):
    meeting = await published(client, vng, capacity=2)
    answers = [await register(client, meeting["id"], n) for n in range(4)]
    assert [a.status_code for a in answers] == [201] * 4
    body = [a.json() for a in answers]
    assert [(b["status"], b["position"], b["waitlist_rank"]) for b in body] == [
        ("confirmed", None, None),
        ("confirmed", None, None),
        ("waitlisted", 1, 1),
        ("waitlisted", 2, 2),
    ]
    again = (await client.get(f"/api/v1/meetings/{meeting['id']}")).json()
    assert (again["seats_available"], again["waitlist_length"]) == (0, 2)
    emitted = await events(conn, "registration.confirmed", "registration.waitlisted")
    assert [e["type"] for e in emitted] == ["registration.confirmed"] * 2 + ["registration.waitlisted"] * 2
    assert [e.get("position") for e in emitted] == [None, None, 1, 2]
    assert emitted[2]["registration_id"] == body[2]["id"]


async def test_registering_twice_returns_the_same_registration(client: Client, vng: dict[str, str], conn: Connection):
    meeting = await published(client, vng, capacity=5)
    first = await register(client, meeting["id"], 1)
    second = await register(client, meeting["id"], 1)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert len(await events(conn, "registration.confirmed")) == 1
    assert await conn.fetchval("SELECT confirmed_count FROM meetings WHERE id = $1", UUID(meeting["id"])) == 1


async def test_idempotency_key_replays_and_refuses_a_different_body(client: Client, vng: dict[str, str]):
    meeting = await published(client, vng, capacity=5)
    url = f"/api/v1/meetings/{meeting['id']}/registrations"
    key = {"Idempotency-Key": "c3a4e0f2-9a7b-4b7e-8d2e-1f0a9b8c7d6e", **vng}
    first = await client.post(url, json={"participant": participant_body(1)}, headers=key)
    replay = await client.post(url, json={"participant": participant_body(1)}, headers=key)
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    other = await client.post(url, json={"participant": participant_body(2)}, headers=key)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    # Without the key the same person simply gets the existing registration.
    plain = await client.post(url, json={"participant": participant_body(1)}, headers=vng)
    assert (plain.status_code, plain.json()["id"]) == (200, first.json()["id"])


async def test_meetings_that_take_no_registrations(client: Client, vng: dict[str, str], conn: Connection):
    draft = (await client.post("/api/v1/meetings", json=meeting_body(), headers=vng)).json()
    assert (await register(client, draft["id"], 1)).status_code == 404, "drafts are invisible to the public"
    on_behalf = await client.post(
        f"/api/v1/meetings/{draft['id']}/registrations", json={"participant": participant_body(1)}, headers=vng
    )
    assert on_behalf.status_code == 409
    assert on_behalf.json()["errors"][0]["field"] == "status"

    cancelled = await published(client, vng)
    await client.post(f"/api/v1/meetings/{cancelled['id']}/cancel", headers=vng)
    answer = await register(client, cancelled["id"], 1)
    assert answer.status_code == 409
    assert "geannuleerd" in answer.json()["detail"]

    later = datetime.now(UTC) + timedelta(days=3)
    not_yet = await published(client, vng, registration_opens_at=later.isoformat())
    answer = await register(client, not_yet["id"], 1)
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (409, "registration_opens_at")
    assert "opent op" in answer.json()["detail"]

    closed = await published(client, vng)
    await conn.execute(
        "UPDATE meetings SET registration_closes_at = now() - interval '1 hour' WHERE id = $1", UUID(closed["id"])
    )
    answer = await register(client, closed["id"], 1)
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (409, "registration_closes_at")

    ended = await published(client, vng)
    await conn.execute(
        "UPDATE meetings SET starts_at = now() - interval '3 hours', ends_at = now() - interval '1 hour' WHERE id = $1",
        UUID(ended["id"]),
    )
    answer = await register(client, ended["id"], 1)
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (409, "ends_at")

    full = await published(client, vng, capacity=1, waitlist_enabled=False)
    first = await register(client, full["id"], 1)
    assert first.status_code == 201
    answer = await register(client, full["id"], 2)
    assert answer.status_code == 409
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"][0]["field"] == "capacity"
    # Anonymously everyone hears the same ("full"), whether registered or not; with a personal link the one
    # with a seat gets their registration back.
    assert (await register(client, full["id"], 1)).status_code == 409
    mine = await token_for(conn, first.json()["participant_id"])
    again = await client.post(f"/api/v1/meetings/{full['id']}/registrations", json={}, headers=mine)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])


async def test_a_cancelled_seat_goes_to_the_head_of_the_queue(client: Client, vng: dict[str, str], conn: Connection):
    meeting = await published(client, vng, capacity=1)
    regs = [(await register(client, meeting["id"], n)).json() for n in range(3)]
    mine = await token_for(conn, regs[0]["participant_id"])
    cancelled = await client.post(f"/api/v1/registrations/{regs[0]['id']}/cancel", headers=mine)
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["end_reason"]) == ("cancelled", "participant")
    assert await statuses(conn, meeting["id"]) == [
        ("deelnemer0", "cancelled", None),
        ("deelnemer1", "confirmed", 1),
        ("deelnemer2", "waitlisted", 2),
    ]
    promoted = await events(conn, "registration.promoted", "registration.cancelled")
    assert [(e["type"], e["registration_id"]) for e in promoted] == [
        ("registration.cancelled", regs[0]["id"]),
        ("registration.promoted", regs[1]["id"]),
    ]
    assert promoted[1]["mode"] == "auto"
    third = (await client.get(f"/api/v1/registrations/{regs[2]['id']}", headers=vng)).json()
    assert third["waitlist_rank"] == 1
    again = await client.post(f"/api/v1/registrations/{regs[0]['id']}/cancel", headers=mine)
    assert again.status_code == 200, "cancelling twice is harmless"
    assert len(await events(conn, "registration.cancelled")) == 1


async def test_capacity_cannot_drop_below_the_seats_given_and_raising_it_promotes(
    client: Client, vng: dict[str, str], conn: Connection
):
    meeting = await published(client, vng, capacity=3)
    for n in range(5):
        await register(client, meeting["id"], n)
    lower = await client.patch(f"/api/v1/meetings/{meeting['id']}", json={"capacity": 2}, headers=vng)
    assert lower.status_code == 409
    problem = lower.json()
    assert problem["errors"][0]["field"] == "capacity"
    assert "3 bevestigde inschrijvingen" in problem["detail"]
    raised = await client.patch(f"/api/v1/meetings/{meeting['id']}", json={"capacity": 4}, headers=vng)
    assert raised.status_code == 200, raised.text
    assert (raised.json()["seats_available"], raised.json()["waitlist_length"]) == (0, 1)
    assert [s for _, s, _ in await statuses(conn, meeting["id"])] == ["confirmed"] * 4 + ["waitlisted"]
    same = await client.patch(f"/api/v1/meetings/{meeting['id']}", json={"capacity": 4}, headers=vng)
    assert same.status_code == 200


async def test_cancelling_the_meeting_cancels_every_registration(client: Client, vng: dict[str, str], conn: Connection):
    meeting = await published(client, vng, capacity=1)
    for n in range(3):
        await register(client, meeting["id"], n)
    cancelled = await client.post(f"/api/v1/meetings/{meeting['id']}/cancel", json={"reason": "Ziek"}, headers=vng)
    assert cancelled.status_code == 200
    assert cancelled.json()["waitlist_length"] == 0
    assert {s for _, s, _ in await statuses(conn, meeting["id"])} == {"cancelled"}
    emitted = await events(conn, "meeting.cancelled", "registration.cancelled")
    assert [e["type"] for e in emitted] == ["meeting.cancelled"] + ["registration.cancelled"] * 3
    assert {e["reason"] for e in emitted[1:]} == {"meeting_cancelled"}
    assert [e["previous_status"] for e in emitted[1:]] == ["confirmed", "waitlisted", "waitlisted"]


async def test_rsvp_tentative_keeps_the_seat_and_declined_gives_it_away(
    client: Client, vng: dict[str, str], conn: Connection
):
    meeting = await published(client, vng, capacity=1)
    first, second = [(await register(client, meeting["id"], n)).json() for n in range(2)]
    mine = await token_for(conn, first["participant_id"])
    url = f"/api/v1/registrations/{first['id']}/rsvp"
    tentative = await client.post(url, json={"rsvp": "tentative"}, headers=mine)
    assert (tentative.status_code, tentative.json()["rsvp"], tentative.json()["status"]) == (
        200,
        "tentative",
        "confirmed",
    )
    declined = await client.post(url, json={"rsvp": "declined"}, headers=mine)
    assert (declined.json()["status"], declined.json()["rsvp"]) == ("declined", "declined")
    assert (await client.get(f"/api/v1/registrations/{second['id']}", headers=vng)).json()["status"] == "confirmed"
    waiting = await client.post(url, json={"rsvp": "accepted"}, headers=mine)
    assert (waiting.status_code, waiting.json()["errors"][0]["field"]) == (409, "rsvp")
    changes = await events(conn, "registration.rsvp_changed")
    assert [e["rsvp"] for e in changes] == ["tentative", "declined"]
    bad = await client.post(url, json={"rsvp": "misschien"}, headers=mine)
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "rsvp")


async def test_nobody_acts_on_someone_elses_registration(
    client: Client, vng: dict[str, str], conn: Connection, keys: Any
):
    meeting = await published(client, vng, capacity=5)
    mine, theirs = [(await register(client, meeting["id"], n)).json() for n in range(2)]
    my_token = await token_for(conn, mine["participant_id"])
    for method, path in (("get", ""), ("post", "/cancel")):
        answer = await getattr(client, method)(f"/api/v1/registrations/{theirs['id']}{path}", headers=my_token)
        assert answer.status_code == 403, answer.text
        assert answer.json()["detail"] == "Dit is niet jouw inschrijving"
    assert (await client.get(f"/api/v1/registrations/{theirs['id']}")).status_code == 401
    aof = await keys.headers("organiser", "AOF")
    assert (await client.post(f"/api/v1/registrations/{theirs['id']}/cancel", headers=aof)).status_code == 403
    bzk = await keys.headers("funder", "BZK")
    assert (await client.get(f"/api/v1/meetings/{meeting['id']}/registrations", headers=bzk)).status_code == 403
    # A participant token registers its owner only.
    other = await client.post(
        f"/api/v1/meetings/{meeting['id']}/registrations",
        json={"participant_id": theirs["participant_id"]},
        headers=my_token,
    )
    assert other.status_code == 403
    assert await conn.fetchval("SELECT count(*) FROM registrations WHERE status = 'cancelled'") == 0


@pytest.mark.parametrize("token", ["lkp_bestaat-niet-0123456789abcdef", "lkr_abc_def", "onzin"])
async def test_unknown_tokens_are_refused(client: Client, vng: dict[str, str], token: str):
    meeting = await published(client, vng)
    answer = await client.post(
        f"/api/v1/meetings/{meeting['id']}/registrations", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    via_query = await client.get("/api/v1/me", params={"token": token})
    assert via_query.status_code == 401


async def test_a_revoked_token_stops_working(client: Client, vng: dict[str, str], conn: Connection):
    meeting = await published(client, vng)
    reg = (await register(client, meeting["id"], 1)).json()
    token = await tokens.issue(conn, UUID(reg["participant_id"]), "manage")
    assert (await client.get("/api/v1/me/registrations", params={"token": token})).status_code == 200
    assert await tokens.revoke(conn, token)
    answer = await client.get("/api/v1/me/registrations", params={"token": token})
    assert answer.status_code == 401
    assert "ingetrokken" in answer.json()["detail"]
    feed = await tokens.issue(conn, UUID(reg["participant_id"]), "feed")
    assert (await client.get("/api/v1/me", params={"token": feed})).status_code == 401, "a feed token manages nothing"
    assert await tokens.resolve(conn, feed, "feed") == UUID(reg["participant_id"])


async def test_the_rush_statement_writes_the_event_emit_would(client: Client, vng: dict[str, str], conn: Connection):
    """reserve.RESERVE writes its event in SQL (one round trip under the hot lock); it must match emit() exactly."""
    meeting = await published(client, vng, capacity=1)
    confirmed, waitlisted = [(await register(client, meeting["id"], n)).json() for n in range(2)]
    rows = await conn.fetch(
        "SELECT * FROM outbox WHERE aggregate_id = $1 "
        "AND type IN ('registration.confirmed', 'registration.waitlisted') ORDER BY id",
        UUID(meeting["id"]),
    )
    ids = {k: UUID(confirmed[k]) for k in ("meeting_id", "participant_id")}
    expected = [
        RegistrationConfirmed(registration_id=UUID(confirmed["id"]), **ids),
        RegistrationWaitlisted(
            registration_id=UUID(waitlisted["id"]),
            meeting_id=UUID(meeting["id"]),
            participant_id=UUID(waitlisted["participant_id"]),
            position=1,
        ),
    ]
    for row, payload in zip(rows, expected, strict=True):
        event = event_from_row(row)
        assert event.payload == payload
        assert (event.type, event.version) == (event_type(payload), EVENT_VERSION)
        assert row["payload"] == msgspec.json.decode(msgspec.json.encode(payload)), "same JSON as emit() writes"
