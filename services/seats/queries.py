"""SQL for who holds a seat: the counters on `meetings`, promotion from the waiting list, ending registrations.

Lock order, everywhere: the meeting row first, then its registrations. Every statement that changes who holds
a seat runs while the caller holds that meeting lock, which keeps the counters exact and makes deadlocks between
two registration changes impossible.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from services.db import Connection, required
from services.seats.rules import Seats

REG_COLUMNS = (
    "id, meeting_id, participant_id, status, position, rsvp, offer_expires_at, source, end_reason, created_at, "
    "updated_at, confirmed_at, cancelled_at"
)
R_COLUMNS = ", ".join(f"r.{c.strip()}" for c in REG_COLUMNS.split(","))
ACTIVE_SQL = "('confirmed', 'waitlisted', 'offered')"


class MeetingSeats(msgspec.Struct, frozen=True, kw_only=True):
    """The parts of a meeting the seat rules need, read under its lock."""

    id: UUID
    status: str
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    organiser_codes: list[str]
    funder_codes: list[str]
    capacity: int
    confirmed_count: int
    offered_count: int
    waitlisted_count: int
    waitlist_enabled: bool
    waitlist_mode: str
    offer_hours: int
    checkin_code: str | None

    @property
    def seats(self) -> Seats:
        return Seats(self.capacity, self.confirmed_count, self.offered_count, self.waitlisted_count)


_SEAT_COLUMNS = ", ".join(MeetingSeats.__struct_fields__)


def _seats(row: asyncpg.Record | None) -> MeetingSeats | None:
    return None if row is None else MeetingSeats(**{k: row[k] for k in MeetingSeats.__struct_fields__})


async def meeting_seats(conn: Connection, meeting_id: UUID, *, lock: bool = False) -> MeetingSeats | None:
    suffix = " FOR UPDATE" if lock else ""
    return _seats(await conn.fetchrow(f"SELECT {_SEAT_COLUMNS} FROM meetings WHERE id = $1{suffix}", meeting_id))


async def try_lock_meeting(conn: Connection, meeting_id: UUID) -> MeetingSeats | None:
    """For sweeps: None when another transaction holds the meeting; it will be visited on the next run."""
    row = await conn.fetchrow(f"SELECT {_SEAT_COLUMNS} FROM meetings WHERE id = $1 FOR UPDATE SKIP LOCKED", meeting_id)
    return _seats(row)


async def refresh_counts(conn: Connection, meeting_id: UUID) -> MeetingSeats:
    """Recount seats from the rows (slow paths only); the CHECK on `meetings` refuses any overbooked result."""
    row = await conn.fetchrow(
        f"""
        UPDATE meetings m SET confirmed_count = c.confirmed, offered_count = c.offered, waitlisted_count = c.waitlisted
        FROM (
            SELECT count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
                   count(*) FILTER (WHERE status = 'offered') AS offered,
                   count(*) FILTER (WHERE status = 'waitlisted') AS waitlisted
            FROM registrations WHERE meeting_id = $1 AND status IN {ACTIVE_SQL}
        ) c
        WHERE m.id = $1
        RETURNING {", ".join(f"m.{c}" for c in MeetingSeats.__struct_fields__)}
        """,
        meeting_id,
    )
    return required(_seats(row))


async def finish(conn: Connection, registration_id: UUID, status: str, reason: str) -> asyncpg.Record:
    """Take a registration out of the running (cancelled or declined); the caller holds the meeting lock."""
    row = await conn.fetchrow(
        f"""
        UPDATE registrations
        SET status = $2, end_reason = $3, cancelled_at = now(), updated_at = now(), offer_expires_at = NULL,
            rsvp = CASE WHEN $2 = 'declined' THEN 'declined' ELSE rsvp END
        WHERE id = $1 RETURNING {REG_COLUMNS}
        """,
        registration_id,
        status,
        reason,
    )
    return required(row)


async def promote_head(
    conn: Connection, meeting_id: UUID, count: int, status: str, offer_expires_at: datetime | None
) -> list[asyncpg.Record]:
    """Move the first `count` people of the waiting list (by position) to `status`."""
    return await conn.fetch(
        f"""
        WITH head AS (
            SELECT id FROM registrations WHERE meeting_id = $1 AND status = 'waitlisted'
            ORDER BY position LIMIT $2 FOR UPDATE
        )
        UPDATE registrations r
        SET status = $3, offer_expires_at = $4, updated_at = now(),
            confirmed_at = CASE WHEN $3 = 'confirmed' THEN now() END
        FROM head WHERE r.id = head.id
        RETURNING {R_COLUMNS}
        """,
        meeting_id,
        count,
        status,
        offer_expires_at,
    )


async def finish_all(
    conn: Connection, meeting_id: UUID, reason: str, *, statuses: tuple[str, ...], only_due_offers: bool = False
) -> list[asyncpg.Record]:
    """Cancel many at once (meeting cancelled, offers expired); returns rows with their `previous_status`."""
    return await conn.fetch(
        f"""
        WITH old AS (
            SELECT id, status FROM registrations
            WHERE meeting_id = $1 AND status = ANY($2::text[])
              AND (NOT $4 OR offer_expires_at <= now())
            ORDER BY n FOR UPDATE
        )
        UPDATE registrations r
        SET status = 'cancelled', end_reason = $3, cancelled_at = now(), updated_at = now(), offer_expires_at = NULL
        FROM old WHERE r.id = old.id
        RETURNING {R_COLUMNS}, old.status AS previous_status
        """,
        meeting_id,
        list(statuses),
        reason,
        only_due_offers,
    )


async def clamp_offers(conn: Connection, meeting_id: UUID, starts_at: datetime) -> None:
    """A meeting moved earlier: no held seat may outlast its new start."""
    await conn.execute(
        "UPDATE registrations SET offer_expires_at = $2, updated_at = now() "
        "WHERE meeting_id = $1 AND status = 'offered' AND offer_expires_at > $2",
        meeting_id,
        starts_at,
    )


async def meetings_with_due_offers(conn: Connection, limit: int) -> list[UUID]:
    rows = await conn.fetch(
        """
        SELECT meeting_id FROM registrations WHERE status = 'offered' AND offer_expires_at <= now()
        GROUP BY meeting_id ORDER BY min(offer_expires_at) LIMIT $1
        """,
        limit,
    )
    return [r["meeting_id"] for r in rows]
