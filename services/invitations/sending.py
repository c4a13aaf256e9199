"""SQL the senders run: claim a small block of invitee rows, record how each send ended, close the batch.

Blocks are claimed with FOR UPDATE SKIP LOCKED, so any number of senders (lanes in one job, or several workers)
share a batch without waiting on each other. A claim is only a work assignment: whether a mail went out is decided
by the deliveries row behind each send (workers/deliveries.py), which is what makes a send happen once.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import msgspec

from services.db import Connection

MAX_ATTEMPTS = 5
ABANDONED = "Niet verstuurd: de bijeenkomst is geannuleerd"


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    email: str
    name: str
    participant_id: UUID | None
    locale: str
    attempts: int


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    status: str  # sent, failed, bounced
    sequence: int | None = None
    error: str | None = None


# A claim may be taken over when it is older than the lease, or at once when its worker is known to be gone.
_CLAIM = """
WITH next AS (
    SELECT i.id FROM invitations i
    WHERE i.batch_id = $1 AND i.status = 'queued'
      AND (i.claimed_at IS NULL OR i.claimed_at < now() - make_interval(secs => $3)
           OR i.claimed_by IN (SELECT w.id FROM worker_processes w WHERE w.stopped_at IS NOT NULL))
    ORDER BY i.id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE invitations i SET claimed_at = now(), claimed_by = $4, attempts = i.attempts + 1
FROM next WHERE i.id = next.id
RETURNING i.id, i.email, i.name, i.participant_id, i.locale, i.attempts
"""


async def claim_block(
    conn: Connection, batch_id: UUID, *, size: int, lease_seconds: float, worker_id: int | None
) -> list[Claimed]:
    rows = await conn.fetch(_CLAIM, batch_id, size, float(lease_seconds), worker_id)
    return sorted((Claimed(**dict(r)) for r in rows), key=lambda c: c.id)


async def record(conn: Connection, outcomes: Sequence[Outcome]) -> None:
    """Write the final status of many rows in one statement."""
    if not outcomes:
        return
    await conn.execute(
        """
        UPDATE invitations i
        SET status = o.status, sequence = coalesce(o.sequence, i.sequence), last_error = o.error,
            sent_at = CASE WHEN o.status = 'sent' THEN coalesce(i.sent_at, now()) ELSE i.sent_at END,
            claimed_at = NULL, claimed_by = NULL
        FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[]) AS o(id, status, sequence, error)
        WHERE i.id = o.id AND i.status = 'queued'
        """,
        [o.id for o in outcomes],
        [o.status for o in outcomes],
        [o.sequence for o in outcomes],
        [o.error for o in outcomes],
    )


async def release(conn: Connection, claimed: Claimed, error: str) -> None:
    """A transient failure: hand the row back for a later attempt, or give up after MAX_ATTEMPTS."""
    await conn.execute(
        """
        UPDATE invitations
        SET claimed_at = NULL, claimed_by = NULL, last_error = $2,
            status = CASE WHEN attempts >= $3 THEN 'failed' ELSE status END
        WHERE id = $1 AND status = 'queued'
        """,
        claimed.id,
        error[:1000],
        MAX_ATTEMPTS,
    )


async def unclaim(conn: Connection, invitation_ids: Sequence[int]) -> None:
    """Give rows back without counting an attempt (the sender is stopping, not failing)."""
    await conn.execute(
        "UPDATE invitations SET claimed_at = NULL, claimed_by = NULL "
        "WHERE id = ANY($1::bigint[]) AND status = 'queued'",
        list(invitation_ids),
    )


async def finish_if_done(conn: Connection, batch_id: UUID) -> bool:
    """Mark the batch done once it is resolved and nothing is queued; True when it is done (now or before)."""
    state = await conn.fetchval(
        """
        UPDATE invitation_batches b SET state = 'done', finished_at = now()
        WHERE b.id = $1 AND b.state = 'sending'
          AND NOT EXISTS (SELECT 1 FROM invitations i WHERE i.batch_id = b.id AND i.status = 'queued')
        RETURNING state
        """,
        batch_id,
    )
    if state is not None:
        return True
    return bool(await conn.fetchval("SELECT state = 'done' FROM invitation_batches WHERE id = $1", batch_id))


async def abandon_requests(conn: Connection, meeting_id: UUID) -> int:
    """The meeting was cancelled: invitations and updates still queued are not sent any more."""
    status = await conn.execute(
        """
        UPDATE invitations i SET status = 'failed', last_error = $2, claimed_at = NULL, claimed_by = NULL
        FROM invitation_batches b
        WHERE b.id = i.batch_id AND b.kind IN ('invitation', 'update') AND i.meeting_id = $1 AND i.status = 'queued'
        """,
        meeting_id,
        ABANDONED,
    )
    await conn.execute(
        """
        UPDATE invitation_batches SET state = 'done', finished_at = now()
        WHERE meeting_id = $1 AND kind IN ('invitation', 'update') AND state = 'sending'
        """,
        meeting_id,
    )
    return int(status.split()[-1])


async def requests_in_flight(conn: Connection, meeting_id: UUID, lease_seconds: float) -> int:
    """Invitation or update rows of the meeting a sender holds right now (claimed within the lease)."""
    value = await conn.fetchval(
        """
        SELECT count(*) FROM invitations i JOIN invitation_batches b ON b.id = i.batch_id
        WHERE i.meeting_id = $1 AND b.kind IN ('invitation', 'update') AND i.status = 'queued'
          AND i.claimed_at > now() - make_interval(secs => $2)
        """,
        meeting_id,
        float(lease_seconds),
    )
    return int(value or 0)


async def registered(conn: Connection, meeting_id: UUID, emails: Sequence[str]) -> set[str]:
    """Which of these addresses hold an active registration (confirmed, offered or waitlisted) for the meeting."""
    rows = await conn.fetch(
        """
        SELECT p.email FROM registrations r JOIN participants p ON p.id = r.participant_id
        WHERE r.meeting_id = $1 AND p.email = ANY($2::text[]) AND r.status IN ('confirmed', 'offered', 'waitlisted')
        """,
        meeting_id,
        list(emails),
    )
    return {r["email"] for r in rows}


async def holds_meeting(conn: Connection, meeting_id: UUID, email: str) -> bool:
    """Whether the last calendar message this address got for the meeting was a REQUEST (so it is in their
    calendar and a CANCEL must take it out)."""
    return bool(
        await conn.fetchval(
            """
            SELECT coalesce(max(sent_at) FILTER (WHERE kind IN ('invitation', 'confirmation', 'update')), '-infinity')
                 > coalesce(max(sent_at) FILTER (WHERE kind IN ('cancellation', 'registration_cancelled')), '-infinity')
            FROM deliveries WHERE meeting_id = $1 AND recipient = $2 AND status = 'sent'
            """,
            meeting_id,
            email,
        )
    )
