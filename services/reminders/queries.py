"""SQL for reminder rows and opt-outs; rows become Structs here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from services.db import Connection


class SyncMeeting(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    starts_at: datetime
    timezone: str
    reminders: Any
    series_reminders: Any


class Row(msgspec.Struct, frozen=True, kw_only=True):
    registration_id: UUID
    rule: str
    due_at: datetime
    status: str


class Due(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    meeting_id: UUID
    registration_id: UUID
    rule: str
    due_at: datetime
    starts_at: datetime
    timezone: str
    meeting_status: str
    reminders: Any
    series_reminders: Any
    # The registration still confirmed and nobody opted out since the row was written.
    wanted: bool


class Upsert(msgspec.Struct, frozen=True, kw_only=True):
    registration_id: UUID
    rule: str
    due_at: datetime
    status: str
    exists: bool  # the sync read a row for this key (an update), or none (an insert)


async def meeting_for_sync(conn: Connection, meeting_id: UUID) -> SyncMeeting | None:
    # No lock: the meeting row is the hot lock of registering. A sync that raced a change and wrote what was true
    # a moment ago is caught by the sweep, which checks every row against the current state when it falls due.
    row = await conn.fetchrow(
        """
        SELECT m.status, m.starts_at, m.timezone, m.reminders, s.reminders AS series_reminders
        FROM meetings m LEFT JOIN series s ON s.id = m.series_id
        WHERE m.id = $1
        """,
        meeting_id,
    )
    return None if row is None else SyncMeeting(**dict(row))


async def wanted_registrations(conn: Connection, meeting_id: UUID, registration_id: UUID | None) -> list[UUID]:
    """Confirmed registrations of people who want reminders (for this meeting and in general)."""
    rows = await conn.fetch(
        """
        SELECT r.id FROM registrations r JOIN participants p ON p.id = r.participant_id
        WHERE r.meeting_id = $1 AND ($2::uuid IS NULL OR r.id = $2) AND r.status = 'confirmed'
          AND NOT r.reminders_off AND NOT p.reminders_off AND p.erased_at IS NULL
        """,
        meeting_id,
        registration_id,
    )
    return [r["id"] for r in rows]


async def rows(conn: Connection, meeting_id: UUID, registration_id: UUID | None) -> list[Row]:
    found = await conn.fetch(
        "SELECT registration_id, rule, due_at, status FROM reminders "
        "WHERE meeting_id = $1 AND ($2::uuid IS NULL OR registration_id = $2)",
        meeting_id,
        registration_id,
    )
    return [Row(**dict(r)) for r in found]


async def apply(conn: Connection, meeting_id: UUID, changes: Sequence[Upsert]) -> None:
    """Write the planned rows: one INSERT for the new keys, one UPDATE for the known ones. A row the sweep fired
    (or found missed) meanwhile stays so.

    New keys go in as a plain INSERT, not INSERT ... ON CONFLICT: the speculative insertion costs about half
    again as much as the insert itself (bench/bench_learning.py, 10,000 rows: 280 against 200 ms). Two syncs of one
    meeting can race (a registration's and the meeting's), so the INSERT runs in a savepoint, and when another
    sync wrote one of the keys first, the upsert writes them instead.
    """
    inserts = [c for c in changes if not c.exists]
    updates = [c for c in changes if c.exists]
    if inserts:
        try:
            async with conn.transaction():
                await conn.execute(_INSERT, meeting_id, *_grouped(inserts))
        except asyncpg.UniqueViolationError:
            await conn.execute(_UPSERT, meeting_id, *_columns(inserts))
    if updates:
        await conn.execute(_UPDATE, *_columns(updates))


def _grouped(
    changes: Sequence[Upsert],
) -> tuple[list[UUID], list[int], list[str], list[datetime], list[str]]:
    """New rows as (registration, group) plus the few distinct (rule, moment, status) groups: a meeting's rows share
    two or three, and sending each registration once with a small number costs a third less than four full columns
    (bench/bench_learning.py: 50 against 67 ms for 10,000 rows)."""
    groups: dict[tuple[str, datetime, str], int] = {}
    ids: list[UUID] = []
    numbers: list[int] = []
    for c in changes:
        ids.append(c.registration_id)
        numbers.append(groups.setdefault((c.rule, c.due_at, c.status), len(groups) + 1))
    keys = list(groups)
    return ids, numbers, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]


def _columns(changes: Sequence[Upsert]) -> tuple[list[UUID], list[str], list[datetime], list[str]]:
    return (
        [c.registration_id for c in changes],
        [c.rule for c in changes],
        [c.due_at for c in changes],
        [c.status for c in changes],
    )


_ROWS = "unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::text[]) AS w(registration_id, rule, due_at, status)"

_INSERT = """
INSERT INTO reminders (meeting_id, registration_id, rule, due_at, status)
SELECT $1, w.registration_id, g.rule, g.due_at, g.status
FROM unnest($2::uuid[], $3::int[]) AS w(registration_id, g)
JOIN unnest($4::text[], $5::timestamptz[], $6::text[]) WITH ORDINALITY AS g(rule, due_at, status, n) ON g.n = w.g
"""

_UPSERT = f"""
INSERT INTO reminders (meeting_id, registration_id, rule, due_at, status)
SELECT $1, w.registration_id, w.rule, w.due_at, w.status FROM {_ROWS}
ON CONFLICT (registration_id, rule) DO UPDATE
SET due_at = EXCLUDED.due_at, status = EXCLUDED.status, updated_at = now()
WHERE reminders.status NOT IN ('fired', 'missed')
"""

_UPDATE = """
UPDATE reminders x SET due_at = w.due_at, status = w.status, updated_at = now()
FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[]) AS w(registration_id, rule, due_at, status)
WHERE x.registration_id = w.registration_id AND x.rule = w.rule AND x.status NOT IN ('fired', 'missed')
"""


async def claim_due(conn: Connection, now: datetime, limit: int) -> list[Due]:
    found = await conn.fetch(
        """
        SELECT r.id, r.meeting_id, r.registration_id, r.rule, r.due_at, m.starts_at, m.timezone,
               m.status AS meeting_status, m.reminders, s.reminders AS series_reminders,
               coalesce(g.status = 'confirmed' AND NOT g.reminders_off AND NOT p.reminders_off
                        AND p.erased_at IS NULL, false) AS wanted
        FROM reminders r JOIN meetings m ON m.id = r.meeting_id LEFT JOIN series s ON s.id = m.series_id
        LEFT JOIN registrations g ON g.id = r.registration_id LEFT JOIN participants p ON p.id = g.participant_id
        WHERE r.status = 'pending' AND r.due_at <= $1
        ORDER BY r.due_at LIMIT $2
        FOR UPDATE OF r SKIP LOCKED
        """,
        now,
        limit,
    )
    return [Due(**dict(r)) for r in found]


async def retime_one(conn: Connection, reminder_id: int, due_at: datetime) -> None:
    await conn.execute("UPDATE reminders SET due_at = $2, updated_at = now() WHERE id = $1", reminder_id, due_at)


async def set_status(conn: Connection, ids: Sequence[int], status: str, now: datetime) -> None:
    if ids:
        await conn.execute(
            "UPDATE reminders SET status = $2, fired_at = CASE WHEN $2 = 'fired' THEN $3::timestamptz END, "
            "updated_at = now() WHERE id = ANY($1::bigint[])",
            list(ids),
            status,
            now,
        )


class Reminder(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    rule: str
    status: str
    registration_id: UUID
    registration_status: str
    registration_off: bool
    participant_id: UUID
    participant_off: bool
    meeting_id: UUID
    registered_at: datetime
    due_at: datetime
    rsvp: str | None = None
    meeting_rules: Any = None  # the stored rules (jsonb) of the meeting and of its series: which rule this row is
    series_rules: Any = None


async def reminder(conn: Connection, reminder_id: int) -> Reminder | None:
    row = await conn.fetchrow(
        """
        SELECT x.id, x.rule, x.status, x.due_at, r.id AS registration_id, r.status AS registration_status,
               r.reminders_off AS registration_off, r.participant_id, p.reminders_off AS participant_off,
               r.meeting_id, coalesce(r.reconfirmed_at, r.confirmed_at, r.created_at) AS registered_at, r.rsvp,
               m.reminders AS meeting_rules, s.reminders AS series_rules
        FROM reminders x JOIN registrations r ON r.id = x.registration_id JOIN participants p ON p.id = r.participant_id
        JOIN meetings m ON m.id = r.meeting_id LEFT JOIN series s ON s.id = m.series_id
        WHERE x.id = $1
        """,
        reminder_id,
    )
    return None if row is None else Reminder(**dict(row))


async def set_registration_off(conn: Connection, registration_id: UUID, off: bool) -> UUID | None:
    """Returns the registration's meeting, None when there is no such registration."""
    value = await conn.fetchval(
        "UPDATE registrations SET reminders_off = $2, updated_at = now() WHERE id = $1 RETURNING meeting_id",
        registration_id,
        off,
    )
    return value  # type: ignore[no-any-return]


async def set_participant_off(conn: Connection, participant_id: UUID, off: bool) -> list[tuple[UUID, UUID]]:
    """Set the person's switch; returns their active confirmed registrations as (meeting, registration)."""
    await conn.execute(
        "UPDATE participants SET reminders_off = $2, updated_at = now() WHERE id = $1", participant_id, off
    )
    found = await conn.fetch(
        "SELECT meeting_id, id FROM registrations WHERE participant_id = $1 AND status = 'confirmed'", participant_id
    )
    return [(r["meeting_id"], r["id"]) for r in found]


async def cancel_pending_of(conn: Connection, registration_ids: Sequence[UUID]) -> int:
    status = await conn.execute(
        "UPDATE reminders SET status = 'cancelled', updated_at = now() "
        "WHERE status = 'pending' AND registration_id = ANY($1::uuid[])",
        list(registration_ids),
    )
    return int(status.split()[-1])


# Calendar messages that put (a version of) the meeting in someone's calendar: what they hold is the highest
# SEQUENCE among them. A reminder that carried an updated REQUEST is one of them (kind reminder_update).
REQUEST_KINDS = ["invitation", "confirmation", "update", "reminder_update"]


async def held_sequence(conn: Connection, meeting_id: UUID, email: str) -> int | None:
    """The SEQUENCE of the newest REQUEST this address got for the meeting; None: none reached them."""
    value = await conn.fetchval(
        "SELECT max(sequence) FROM deliveries "
        "WHERE meeting_id = $1 AND recipient = $2 AND status = 'sent' AND kind = ANY($3::text[])",
        meeting_id,
        email,
        REQUEST_KINDS,
    )
    return None if value is None else int(value)
