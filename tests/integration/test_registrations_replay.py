"""Random histories replayed against PostgreSQL and the pure model side by side: the database (with its one-statement
registration, its promotion SQL, the capacity hook and the expiry sweep) must end every step where the model does."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from schemas.auth import Principal
from schemas.meetings import MeetingIn, MeetingPatch
from schemas.participants import ParticipantIn
from schemas.registrations import RegistrationIn
from services.db import Connection
from services.errors import Conflict
from services.meetings import service as meetings
from services.participants.queries import find_or_create
from services.registrations import service
from services.seats.rules import WaitlistModel
from services.seats.service import expire_due_offers
from tests.factories import meeting_body

PEOPLE = 8
ADMIN = Principal(key_id=UUID(int=0), role="admin", organisation_code=None)

# Registering is listed twice so queues form often enough for cancellations and capacity changes to matter.
register = st.tuples(st.just("register"), st.integers(0, PEOPLE - 1))
operation = st.one_of(
    register,
    register,
    st.tuples(st.just("cancel"), st.integers(0, PEOPLE - 1)),
    st.tuples(st.just("capacity"), st.integers(1, 6)),
    st.tuples(st.just("offer"), st.integers(0, PEOPLE - 1), st.sampled_from(["accept", "decline", "expire"])),
)


@pytest.fixture
async def admin_key(conn: Connection) -> Principal:
    # The key must exist: registrations made by staff reference it.
    key_id = await conn.fetchval(
        "INSERT INTO api_keys (prefix, secret_hash, role) VALUES ('replay', '\\x00', 'admin') RETURNING id"
    )
    return msgspec.structs.replace(ADMIN, key_id=key_id)


async def db_state(conn: Connection, meeting_id: UUID, people: dict[int, UUID]) -> dict[int, tuple[str, int | None]]:
    rows = await conn.fetch(
        "SELECT participant_id, status, position FROM registrations "
        "WHERE meeting_id = $1 AND status IN ('confirmed', 'waitlisted', 'offered')",
        meeting_id,
    )
    by_id = {pid: n for n, pid in people.items()}
    return {by_id[r["participant_id"]]: (r["status"], r["position"]) for r in rows}


def model_state(model: WaitlistModel) -> dict[int, tuple[str, int | None]]:
    return {
        e.person: (e.status, e.position) for e in model.entries if e.status in ("confirmed", "waitlisted", "offered")
    }


async def check_counters(conn: Connection, meeting_id: UUID) -> None:
    row = await conn.fetchrow(
        """
        SELECT m.capacity, m.confirmed_count, m.offered_count, m.waitlisted_count,
               (SELECT count(*) FROM registrations r WHERE r.meeting_id = m.id AND r.status = 'confirmed') AS confirmed,
               (SELECT count(*) FROM registrations r WHERE r.meeting_id = m.id AND r.status = 'offered') AS offered,
               (SELECT count(*) FROM registrations r WHERE r.meeting_id = m.id AND r.status = 'waitlisted') AS waiting
        FROM meetings m WHERE m.id = $1
        """,
        meeting_id,
    )
    assert (row["confirmed_count"], row["offered_count"], row["waitlisted_count"]) == (
        row["confirmed"],
        row["offered"],
        row["waiting"],
    )
    assert row["confirmed"] + row["offered"] <= row["capacity"]


async def apply(
    conn: Connection, admin: Principal, meeting_id: UUID, people: dict[int, UUID], model: WaitlistModel, op: Any
) -> None:
    kind = op[0]
    if kind == "register":
        expected = model.register(op[1])
        try:
            async with conn.transaction():
                got, _ = await service.register(conn, admin, meeting_id, RegistrationIn(participant_id=people[op[1]]))
            assert got.status == expected
        except Conflict:
            assert expected == "refused"
    elif kind == "cancel":
        entry = model.active(op[1])
        if model.cancel(op[1]):
            assert entry is not None
            async with conn.transaction():
                reg = await conn.fetchval(
                    "SELECT id FROM registrations WHERE meeting_id = $1 AND participant_id = $2 "
                    "AND status IN ('confirmed', 'waitlisted', 'offered')",
                    meeting_id,
                    people[op[1]],
                )
                await service.cancel(conn, admin, reg)
    elif kind == "capacity":
        allowed = model.set_capacity(op[1])
        try:
            async with conn.transaction():
                await meetings.update(conn, admin, meeting_id, MeetingPatch(capacity=op[1]))
            assert allowed
        except Conflict:
            assert not allowed
    else:
        entry = model.active(op[1])
        if entry is None or entry.status != "offered":
            return
        reg = await conn.fetchval(
            "SELECT id FROM registrations WHERE meeting_id = $1 AND participant_id = $2 AND status = 'offered'",
            meeting_id,
            people[op[1]],
        )
        if op[2] == "expire":
            model.expire_offer(op[1])
            await conn.execute(
                "UPDATE registrations SET offer_expires_at = now() - interval '1 second' WHERE id = $1", reg
            )
            assert await expire_due_offers(conn) == 1
        else:
            model.answer_offer(op[1], accept=op[2] == "accept")
            async with conn.transaction():
                await service.answer_offer(conn, admin, reg, op[2], secret="", offer_token=None)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    capacity=st.integers(1, 3),
    mode=st.sampled_from(["auto", "offer"]),
    enabled=st.booleans(),
    ops=st.lists(operation, min_size=4, max_size=30),
)
@example(
    capacity=1, mode="offer", enabled=True, ops=[*(("register", n) for n in range(4)), ("cancel", 0), ("capacity", 3)]
)
async def test_database_follows_the_model(
    conn: Connection, admin_key: Principal, capacity: int, mode: str, enabled: bool, ops: list[Any]
):
    people = {}
    for n in range(PEOPLE):
        participant, _ = await find_or_create(
            conn, ParticipantIn(email=f"replay{n}@example.nl", name=f"Replay {n}", organisation_code="GM0518")
        )
        people[n] = participant.id
    body = meeting_body(capacity=capacity, waitlist_mode=mode, waitlist_enabled=enabled, organiser_codes=["VNG"])
    async with conn.transaction():
        created = await meetings.create(conn, admin_key, msgspec.convert(body, MeetingIn))
        await meetings.publish(conn, admin_key, created.id)
    model = WaitlistModel(capacity=capacity, mode=mode, waitlist_enabled=enabled)  # type: ignore[arg-type]
    for op in ops:
        await apply(conn, admin_key, created.id, people, model, op)
        assert await db_state(conn, created.id, people) == model_state(model), op
        await check_counters(conn, created.id)
