"""SQL for attendance."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from schemas.registrations import Attendance, AttendanceListItem
from services.db import Connection
from services.participants.queries import to_summary

COLUMNS = "meeting_id, participant_id, registration_id, status, walk_in, method, recorded_at"


def to_attendance(row: asyncpg.Record) -> Attendance:
    return Attendance(**{c: row[c] for c in Attendance.__struct_fields__})


async def upsert(
    conn: Connection,
    *,
    meeting_id: UUID,
    participant_id: UUID,
    registration_id: UUID | None,
    status: str,
    walk_in: bool,
    method: str,
    recorded_by: UUID | None,
) -> tuple[Attendance, bool]:
    """Record or correct one person's attendance; returns (attendance, changed). Recording the same status again
    changes nothing, so a double scan at the door emits no second event."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO attendance (meeting_id, participant_id, registration_id, status, walk_in, method, recorded_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (meeting_id, participant_id) DO UPDATE
            SET status = excluded.status, walk_in = excluded.walk_in, method = excluded.method,
                registration_id = coalesce(excluded.registration_id, attendance.registration_id),
                recorded_by = excluded.recorded_by, recorded_at = now()
            WHERE attendance.status <> excluded.status
        RETURNING {COLUMNS}
        """,
        meeting_id,
        participant_id,
        registration_id,
        status,
        walk_in,
        method,
        recorded_by,
    )
    if row is not None:
        return to_attendance(row), True
    existing = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM attendance WHERE meeting_id = $1 AND participant_id = $2", meeting_id, participant_id
    )
    if existing is None:
        raise RuntimeError("attendance row vanished")
    return to_attendance(existing), False


async def list_for_meeting(
    conn: Connection, meeting_id: UUID, *, after: tuple[str, UUID] | None = None, limit: int | None = None
) -> list[AttendanceListItem]:
    """In name order, a page at a time: `after` is the (name, participant id) the previous page ended with."""
    rows = await conn.fetch(
        f"""
        SELECT {", ".join(f"a.{c.strip()}" for c in COLUMNS.split(","))},
               p.id AS p_id, p.name AS p_name, p.email AS p_email, p.organisation_code AS p_organisation_code,
               p.professional_group AS p_professional_group
        FROM attendance a JOIN participants p ON p.id = a.participant_id
        WHERE a.meeting_id = $1 AND ($2::text IS NULL OR (p.name, p.id) > ($2::text, $3::uuid))
        ORDER BY p.name, p.id
        LIMIT $4
        """,
        meeting_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [
        AttendanceListItem(**{c: r[c] for c in Attendance.__struct_fields__}, participant=to_summary(r)) for r in rows
    ]


async def unattended_confirmed(conn: Connection, meeting_id: UUID) -> list[asyncpg.Record]:
    """Confirmed registrations whose person has not been marked present; caller holds the meeting lock."""
    return await conn.fetch(
        """
        SELECT r.id, r.participant_id, r.status FROM registrations r
        LEFT JOIN attendance a ON a.meeting_id = r.meeting_id AND a.participant_id = r.participant_id
        WHERE r.meeting_id = $1 AND r.status = 'confirmed' AND (a.status IS NULL OR a.status <> 'attended')
        ORDER BY r.n
        FOR UPDATE OF r
        """,
        meeting_id,
    )


async def attended(conn: Connection, meeting_id: UUID, participant_id: UUID) -> bool:
    """Whether the person is recorded as present at the meeting (checked in by themselves or at the door)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM attendance "
            "WHERE meeting_id = $1 AND participant_id = $2 AND status = 'attended')",
            meeting_id,
            participant_id,
        )
    )
