"""SQL the senders run: take a small block of invitee rows, record how each send ended, close the batch.

An invitee row has no claim of its own: the deliveries row behind its mail is the one claim (workers/deliveries).
`lock_block` runs in a transaction with the claim of those deliveries, and locks the rows only for that moment
(FOR UPDATE SKIP LOCKED), so any number of senders (lanes in one job, or several workers) share a batch without
waiting on each other or taking the same rows; a row whose delivery another sender holds is passed over.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import msgspec

from services.db import Connection

ABANDONED = "Niet verstuurd: de bijeenkomst is geannuleerd"
WAITING = "wacht op mailserver"


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    email: str
    name: str
    participant_id: UUID | None
    locale: str
    feed_generation: int | None = None  # of the participant (not erased), for their personal feed link


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    status: str  # sent, failed, bounced
    attempts: int
    sequence: int | None = None
    error: str | None = None


# The delivery of a row is found by its key, `prefix || email || suffix` (workers/jobs/invitation_batches.py
# delivery_key). Rows are passed over while their delivery is held by a live claim or waits out a 4xx, and once it is
# decided (sent or failed): the lane that sent it records the row when its block is done, `record_decided` the rest
# (a delivery decided by another batch, or a sender that died between its mark and its record). Taking decided rows
# again filled every lane's next block with the mails the other lanes had just sent: in id order they come first.
_LOCK_BLOCK = """
SELECT i.id, i.email, i.name, i.participant_id, i.locale, p.feed_generation
FROM invitations i
LEFT JOIN deliveries d ON d.key = $3 || i.email || $4
LEFT JOIN participants p ON p.id = i.participant_id AND p.erased_at IS NULL
WHERE i.batch_id = $1 AND i.status = 'queued'
  AND (d.id IS NULL
       OR (d.status = 'queued' AND (d.not_before IS NULL OR d.not_before <= now()))
       OR (d.status = 'claimed' AND d.claimed_at < now() - make_interval(secs => $5)))
ORDER BY i.id
LIMIT $2
FOR UPDATE OF i SKIP LOCKED
"""


async def lock_block(
    conn: Connection, batch_id: UUID, *, size: int, key_prefix: str, key_suffix: str, lease_seconds: float
) -> list[Claimed]:
    """Up to `size` queued rows nobody is sending now, locked until the caller's transaction ends."""
    rows = await conn.fetch(_LOCK_BLOCK, batch_id, size, key_prefix, key_suffix, float(lease_seconds))
    return [Claimed(**dict(r)) for r in rows]


async def next_retry(conn: Connection, batch_id: UUID, *, key_prefix: str, key_suffix: str) -> float | None:
    """Seconds until the first queued row of the batch whose delivery waits out a 4xx may be tried again."""
    value = await conn.fetchval(
        """
        SELECT extract(epoch FROM min(d.not_before) - now())
        FROM invitations i JOIN deliveries d ON d.key = $2 || i.email || $3
        WHERE i.batch_id = $1 AND i.status = 'queued' AND d.status = 'queued' AND d.not_before > now()
        """,
        batch_id,
        key_prefix,
        key_suffix,
    )
    return None if value is None else float(value)


async def record(conn: Connection, outcomes: Sequence[Outcome]) -> None:
    """Write the final status of many rows in one statement."""
    if not outcomes:
        return
    await conn.execute(
        """
        UPDATE invitations i
        SET status = o.status, sequence = coalesce(o.sequence, i.sequence), last_error = o.error,
            attempts = greatest(i.attempts, o.attempts),
            sent_at = CASE WHEN o.status = 'sent' THEN coalesce(i.sent_at, now()) ELSE i.sent_at END
        FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::int[])
            AS o(id, status, sequence, error, attempts)
        WHERE i.id = o.id AND i.status = 'queued'
        """,
        [o.id for o in outcomes],
        [o.status for o in outcomes],
        [o.sequence for o in outcomes],
        [o.error for o in outcomes],
        [o.attempts for o in outcomes],
    )


async def record_decided(conn: Connection, batch_id: UUID, *, key_prefix: str, key_suffix: str) -> int:
    """Record the queued rows whose delivery is decided already, as `record` would have; how many there were."""
    status = await conn.execute(
        """
        UPDATE invitations i
        SET status = CASE WHEN d.status = 'sent' THEN 'sent'
                          WHEN d.failure = 'bounced' THEN 'bounced' ELSE 'failed' END,
            sequence = CASE WHEN d.status = 'sent' THEN d.sequence ELSE i.sequence END,
            last_error = CASE WHEN d.status = 'sent' THEN NULL ELSE coalesce(d.last_error, 'geweigerd') END,
            attempts = greatest(i.attempts, d.attempts),
            sent_at = CASE WHEN d.status = 'sent' THEN coalesce(i.sent_at, d.sent_at, now()) ELSE i.sent_at END
        FROM deliveries d
        WHERE i.batch_id = $1 AND i.status = 'queued' AND d.key = $2 || i.email || $3 AND d.status IN ('sent', 'failed')
        """,
        batch_id,
        key_prefix,
        key_suffix,
    )
    return int(status.split()[-1])


async def set_waiting(conn: Connection, batch_id: UUID, waiting: bool) -> None:
    """The batch's senders wait for the mail server (progress says WAITING), or no longer do."""
    await conn.execute(
        """
        UPDATE invitation_batches
        SET mail_waiting_since = CASE WHEN $2 THEN coalesce(mail_waiting_since, now()) END
        WHERE id = $1 AND (mail_waiting_since IS NULL) = $2
        """,
        batch_id,
        waiting,
    )


async def finish_if_done(conn: Connection, batch_id: UUID) -> bool:
    """Mark the batch done once it is resolved and nothing is queued; True when it is done (now or before)."""
    state = await conn.fetchval(
        """
        UPDATE invitation_batches b SET state = 'done', finished_at = now(), mail_waiting_since = NULL
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
        UPDATE invitations i SET status = 'failed', last_error = $2
        FROM invitation_batches b
        WHERE b.id = i.batch_id AND b.kind IN ('invitation', 'update') AND i.meeting_id = $1 AND i.status = 'queued'
        """,
        meeting_id,
        ABANDONED,
    )
    await conn.execute(
        """
        UPDATE invitation_batches SET state = 'done', finished_at = now(), mail_waiting_since = NULL
        WHERE meeting_id = $1 AND kind IN ('invitation', 'update') AND state = 'sending'
        """,
        meeting_id,
    )
    return int(status.split()[-1])


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
