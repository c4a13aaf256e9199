"""SQL for registrations themselves. Who holds a seat (the counters, promotion, ending a registration) is
services/seats/queries.py, whose lock order holds here too: the meeting row first, then its registrations."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from schemas.registrations import Registration
from services.db import Connection, required
from services.seats.queries import ACTIVE_SQL, REG_COLUMNS


def to_registration(row: asyncpg.Record, rank: int | None = None) -> Registration:
    """The API view: a waiting-list number only while waiting (the row keeps it, so it is never handed out twice)."""
    values = {c: row[c] for c in Registration.__struct_fields__ if c not in ("waitlist_rank", "position")}
    position = row["position"] if row["status"] == "waitlisted" else None
    return Registration(**values, position=position, waitlist_rank=rank)


async def get(conn: Connection, registration_id: UUID, *, lock: bool = False) -> asyncpg.Record | None:
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(f"SELECT {REG_COLUMNS} FROM registrations WHERE id = $1{suffix}", registration_id)


async def active_for(conn: Connection, meeting_id: UUID, participant_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {REG_COLUMNS} FROM registrations WHERE meeting_id = $1 AND participant_id = $2 "
        f"AND status IN {ACTIVE_SQL}",
        meeting_id,
        participant_id,
    )


async def waitlist_rank(conn: Connection, meeting_id: UUID, position: int) -> int:
    value = await conn.fetchval(
        "SELECT count(*) FROM registrations WHERE meeting_id = $1 AND status = 'waitlisted' AND position <= $2",
        meeting_id,
        position,
    )
    return int(value or 0)


async def with_rank(conn: Connection, row: asyncpg.Record) -> Registration:
    rank = None
    if row["status"] == "waitlisted":
        rank = await waitlist_rank(conn, row["meeting_id"], row["position"])
    return to_registration(row, rank)


async def confirm_offer(conn: Connection, registration_id: UUID) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""
        UPDATE registrations SET status = 'confirmed', offer_expires_at = NULL, confirmed_at = now(), updated_at = now()
        WHERE id = $1 RETURNING {REG_COLUMNS}
        """,
        registration_id,
    )
    return required(row)


async def set_rsvp(conn: Connection, registration_id: UUID, rsvp: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"UPDATE registrations SET rsvp = $2, updated_at = now() WHERE id = $1 RETURNING {REG_COLUMNS}",
        registration_id,
        rsvp,
    )
    return required(row)
