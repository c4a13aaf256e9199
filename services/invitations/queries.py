"""SQL the API runs for invitations: batches, their progress, invitees and saved audience lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from schemas.invitations import AudienceList, InvitationBatch, InvitationCounts, Invitee
from services.db import Connection, required
from services.invitations.sending import WAITING
from services.participants.queries import KNOWN_TO

BATCH_COLUMNS = (
    "b.id, b.meeting_id, b.kind, b.state, b.resend, b.audience, b.skipped_count, b.created_at, b.resolved_at, "
    "b.finished_at, b.mail_waiting_since"
)
# Counting by status over the (batch_id, status, id) index is an index-only scan: cheap enough to run on every
# progress poll even for 50,000 invitees, and never out of step the way a counter column could be.
_COUNTS = """
SELECT batch_id, status, count(*) AS n FROM invitations WHERE batch_id = ANY($1::uuid[]) GROUP BY batch_id, status
"""


def _counts(rows: list[asyncpg.Record], skipped: int) -> InvitationCounts:
    counts = InvitationCounts(skipped=skipped)
    for r in rows:
        setattr(counts, r["status"], int(r["n"]))
        counts.total += int(r["n"])
    return counts


def to_batch(row: asyncpg.Record, count_rows: list[asyncpg.Record]) -> InvitationBatch:
    audience: dict[str, Any] = row["audience"] or {}
    direct = audience.get("direct") or {}
    return InvitationBatch(
        id=row["id"],
        meeting_id=row["meeting_id"],
        kind=row["kind"],
        state=row["state"],
        resend=row["resend"],
        groups=list(direct.get("groups", [])),
        organisations=list(direct.get("organisations", [])),
        regions=list(direct.get("regions", [])),
        lists=[UUID(v) for v in audience.get("lists", [])],
        email_count=len(audience.get("emails", [])),
        counts=_counts([r for r in count_rows if r["batch_id"] == row["id"]], row["skipped_count"]),
        created_at=row["created_at"],
        resolved_at=row["resolved_at"],
        finished_at=row["finished_at"],
        waiting=WAITING if row["mail_waiting_since"] is not None else None,
        waiting_since=row["mail_waiting_since"],
    )


async def insert_batch(
    conn: Connection,
    *,
    meeting_id: UUID,
    audience: dict[str, Any],
    resend: str,
    note: str,
    created_by: UUID | None,
    quota_body: str | None = None,
    planned_count: int = 0,
) -> InvitationBatch:
    row = await conn.fetchrow(
        f"""
        INSERT INTO invitation_batches AS b (meeting_id, kind, audience, resend, note, created_by, quota_body,
                                             planned_count)
        VALUES ($1, 'invitation', $2::jsonb, $3, $4, $5, $6, $7)
        RETURNING {BATCH_COLUMNS}
        """,
        meeting_id,
        audience,
        resend,
        note,
        created_by,
        quota_body,
        planned_count,
    )
    return to_batch(required(row), [])


async def get_batch(conn: Connection, meeting_id: UUID, batch_id: UUID) -> InvitationBatch | None:
    row = await conn.fetchrow(
        f"SELECT {BATCH_COLUMNS} FROM invitation_batches b WHERE b.id = $1 AND b.meeting_id = $2", batch_id, meeting_id
    )
    if row is None:
        return None
    return to_batch(row, await conn.fetch(_COUNTS, [batch_id]))


async def list_batches(
    conn: Connection, meeting_id: UUID, *, after: tuple[datetime, UUID] | None = None, limit: int | None = None
) -> list[InvitationBatch]:
    rows = await conn.fetch(
        f"""
        SELECT {BATCH_COLUMNS} FROM invitation_batches b
        WHERE b.meeting_id = $1 AND ($2::timestamptz IS NULL OR (b.created_at, b.id) > ($2::timestamptz, $3::uuid))
        ORDER BY b.created_at, b.id
        LIMIT $4
        """,
        meeting_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    counts = await conn.fetch(_COUNTS, [r["id"] for r in rows]) if rows else []
    return [to_batch(r, counts) for r in rows]


async def list_invitees(
    conn: Connection,
    batch_id: UUID,
    *,
    viewer: str | None,
    status: str | None,
    after_id: int | None,
    limit: int,
) -> list[Invitee]:
    """A page of invitees. `viewer` is the organising body asking (None: an admin): it sees address, name and
    participant id only of people known to it (KNOWN_TO), and the addresses it typed into this batch itself;
    the rest of an audience chosen by criteria is delivery state only."""
    rows = await conn.fetch(
        f"""
        SELECT i.id,
               CASE WHEN $5::text IS NULL OR known OR pasted THEN i.email END AS email,
               CASE WHEN $5::text IS NULL OR known THEN i.name ELSE '' END AS name,
               CASE WHEN $5::text IS NULL OR known THEN i.participant_id END AS participant_id,
               i.locale, i.status, i.attempts, i.last_error, i.sequence, i.sent_at,
               -- Registered by whatever route (the link, the meeting page, an organiser): "registered"; one who
               -- registered and cancelled since has in effect declined.
               CASE WHEN reg.active THEN 'registered'
                    WHEN r.response = 'registered' THEN 'declined'
                    ELSE r.response END AS response
        FROM invitations i
        JOIN invitation_batches b ON b.id = i.batch_id
        CROSS JOIN LATERAL (
            SELECT $5::text IS NOT NULL AND {KNOWN_TO.format(participant="i.participant_id", organisation="$5")}
                       AS known,
                   i.email IN (SELECT lower(e ->> 'email') FROM jsonb_array_elements(b.audience -> 'emails') e)
                       AS pasted
        ) seen
        LEFT JOIN invitation_responses r ON r.meeting_id = i.meeting_id AND r.email = i.email
        LEFT JOIN LATERAL (
            SELECT true AS active FROM registrations g JOIN participants p ON p.id = g.participant_id
            WHERE g.meeting_id = i.meeting_id AND p.email = i.email
              AND g.status IN ('confirmed', 'waitlisted', 'offered')
            LIMIT 1
        ) reg ON true
        WHERE i.batch_id = $1 AND ($2::text IS NULL OR i.status = $2) AND ($3::bigint IS NULL OR i.id > $3)
        ORDER BY i.id
        LIMIT $4
        """,
        batch_id,
        status,
        after_id,
        limit,
        viewer,
    )
    return [Invitee(**dict(r)) for r in rows]


# ---------------------------------------------------------------------------------------------- saved lists

_LIST_COLUMNS = "id, organisation_code, name, audience, created_at, updated_at"


def to_audience_list(row: asyncpg.Record) -> AudienceList:
    audience: dict[str, Any] = row["audience"]
    return AudienceList(
        id=row["id"],
        organisation_code=row["organisation_code"],
        name=row["name"],
        groups=list(audience.get("groups", [])),
        organisations=list(audience.get("organisations", [])),
        regions=list(audience.get("regions", [])),
        email_count=len(audience.get("emails", [])),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def upsert_audience_list(
    conn: Connection, organisation_code: str, name: str, audience: dict[str, Any]
) -> AudienceList:
    row = await conn.fetchrow(
        f"""
        INSERT INTO audience_lists (organisation_code, name, audience) VALUES ($1, $2, $3::jsonb)
        ON CONFLICT (organisation_code, name) DO UPDATE SET audience = excluded.audience, updated_at = now()
        RETURNING {_LIST_COLUMNS}
        """,
        organisation_code,
        name,
        audience,
    )
    return to_audience_list(required(row))


async def audience_lists(conn: Connection, organisation_code: str | None) -> list[AudienceList]:
    rows = await conn.fetch(
        f"""
        SELECT {_LIST_COLUMNS} FROM audience_lists
        WHERE $1::text IS NULL OR organisation_code = $1 ORDER BY organisation_code, name
        """,
        organisation_code,
    )
    return [to_audience_list(r) for r in rows]


async def audience_list_rows(conn: Connection, ids: list[UUID]) -> list[asyncpg.Record]:
    return list(await conn.fetch(f"SELECT {_LIST_COLUMNS} FROM audience_lists WHERE id = ANY($1::uuid[])", ids))


async def delete_audience_list(conn: Connection, list_id: UUID) -> str | None:
    """Delete and return the owning organisation's code, or None when there was no such list."""
    value = await conn.fetchval("DELETE FROM audience_lists WHERE id = $1 RETURNING organisation_code", list_id)
    return None if value is None else str(value)


# ---------------------------------------------------------------------------------------------- worker side


async def insert_follow_up_batch(
    conn: Connection,
    meeting_id: UUID,
    kind: str,
    sequence: int,
    *,
    changes: dict[str, Any] | None,
    reason: str,
    seated_only: bool = False,
) -> UUID | None:
    """An update or cancellation batch for this meeting version; None when it exists already. `seated_only`: for
    the people with a seat alone (an update that changed only what they alone may see, services/invitations/fanout)."""
    value = await conn.fetchval(
        """
        INSERT INTO invitation_batches (meeting_id, kind, sequence, changes, reason, resolve_phase, audience)
        VALUES ($1, $2, $3, $4::jsonb, $5, 'participants', $6::jsonb)
        ON CONFLICT (meeting_id, kind, sequence) WHERE kind <> 'invitation' DO NOTHING
        RETURNING id
        """,
        meeting_id,
        kind,
        sequence,
        changes,
        reason,
        {"seated_only": True} if seated_only else {},
    )
    return None if value is None else UUID(str(value))


async def forget_participant(conn: Connection, participant_id: UUID) -> None:
    """An erased participant: their queued mail stops and their address and answers leave the invitation tables.
    The rows stay, anonymous, so the organiser's counts do not change after the fact."""
    await conn.execute(
        """
        WITH mine AS (
            SELECT id, meeting_id, email FROM invitations WHERE participant_id = $1 FOR UPDATE
        ), answers AS (
            DELETE FROM invitation_responses r USING mine WHERE r.meeting_id = mine.meeting_id AND r.email = mine.email
        )
        UPDATE invitations i
        SET email = 'verwijderd-' || i.id || '@invalid', name = '', participant_id = NULL,
            status = CASE WHEN i.status = 'queued' THEN 'failed' ELSE i.status END,
            last_error = CASE WHEN i.status = 'queued' THEN 'Niet verstuurd: de deelnemer is verwijderd'
                              ELSE i.last_error END
        FROM mine WHERE i.id = mine.id
        """,
        participant_id,
    )


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """An address's active registration for a meeting: confirmed holds a seat; offered or waitlisted none yet."""

    registration_id: UUID
    status: str


async def places(conn: Connection, meeting_id: UUID, emails: Sequence[str]) -> dict[str, Place]:
    """Which of these addresses hold an active registration for the meeting, with its id and status (an update
    mail's way out names the registration, as the confirmation's does)."""
    rows = await conn.fetch(
        """
        SELECT p.email, r.id, r.status FROM registrations r JOIN participants p ON p.id = r.participant_id
        WHERE r.meeting_id = $1 AND p.email = ANY($2::text[]) AND r.status IN ('confirmed', 'offered', 'waitlisted')
        """,
        meeting_id,
        list(emails),
    )
    return {r["email"]: Place(registration_id=r["id"], status=r["status"]) for r in rows}
