"""SQL of the deliveries ledger: one row per mail (unique key), claimed by whoever sends it, then sent or failed.

Claims are conditional statements, so two senders cannot both hold one: a claim is taken when the row is queued
(and not waiting out a transient failure) or when its holder's lease lapsed; dead workers' claims are handed back
sooner by workers/recovery.py. Statements that touch many rows lock them in key order, so two senders never
deadlock on each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from uuid import UUID

import asyncpg

from services.db import Connection

if TYPE_CHECKING:
    from workers.deliveries import Mail

# When an existing delivery may be claimed ($8: the lease in seconds, $9: this sender), in both claim statements:
# queued and not waiting out a 4xx, or claimed by a holder whose lease lapsed.
_CLAIMABLE = """ON CONFLICT (key) DO UPDATE
SET status = 'claimed', claimed_at = now(), claimed_by = $9, attempts = d.attempts + 1, not_before = NULL
WHERE (d.status = 'queued' AND (d.not_before IS NULL OR d.not_before <= now()))
   OR (d.status = 'claimed' AND d.claimed_at < now() - make_interval(secs => $8))
"""

# Ensure and claim many keys in one statement. New rows are inserted claimed; existing ones are claimed when free.
# Rows this statement did not claim (sent, failed, someone else's, waiting) come back with their state as the
# statement's snapshot saw it; a row another sender inserted a moment ago is not visible and so reads as busy.
_CLAIM = f"""
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::uuid[], $5::text[], $6::int[], $7::text[])
        AS t(key, kind, meeting_id, participant_id, recipient, sequence, message_id)
), claimed AS (
    INSERT INTO deliveries AS d (key, kind, meeting_id, participant_id, recipient, sequence, message_id,
                                 status, claimed_at, claimed_by, attempts)
    SELECT key, kind, meeting_id, participant_id, recipient, sequence, message_id, 'claimed', now(), $9, 1
    FROM input ORDER BY key
    {_CLAIMABLE}    RETURNING d.id, d.key, d.attempts
)
SELECT i.key, coalesce(c.id, d.id) AS id, c.id IS NOT NULL AS mine, coalesce(c.attempts, d.attempts, 0) AS attempts,
       d.status, d.sequence, d.failure, d.last_error, d.not_before
FROM input i LEFT JOIN claimed c ON c.key = i.key LEFT JOIN deliveries d ON d.key = i.key AND c.id IS NULL
"""


# The same claim for one mail, the common case (one mail per event job): a plain INSERT, half the backend CPU of
# the set statement above (0.21 against 0.42 ms, measured), and no join whose plan could go stale while the table
# grows. It returns a row only when it claimed; otherwise ask `claim` how the delivery stands.
_CLAIM_ONE = f"""
INSERT INTO deliveries AS d (key, kind, meeting_id, participant_id, recipient, sequence, message_id,
                             status, claimed_at, claimed_by, attempts)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'claimed', now(), $9, 1)
{_CLAIMABLE}RETURNING d.id, d.attempts
"""


async def claim_one(
    conn: Connection, mail: Mail, message_id: str, lease: float, worker_id: int | None
) -> asyncpg.Record | None:
    """The claimed row (id, attempts), or None when the delivery is sent, failed, waiting or someone else's."""
    return await conn.fetchrow(
        _CLAIM_ONE,
        mail.key,
        mail.kind,
        mail.meeting_id,
        mail.participant_id,
        mail.recipient,
        mail.sequence,
        message_id,
        float(lease),
        worker_id,
    )


async def claim(
    conn: Connection, mails: Sequence[Mail], message_ids: Sequence[str], lease: float, worker_id: int | None
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            _CLAIM,
            [m.key for m in mails],
            [m.kind for m in mails],
            [m.meeting_id for m in mails],
            [m.participant_id for m in mails],
            [m.recipient for m in mails],
            [m.sequence for m in mails],
            list(message_ids),
            float(lease),
            worker_id,
        )
    )


async def mark_sent(conn: Connection, delivery_id: int) -> None:
    await conn.execute(
        "UPDATE deliveries SET status = 'sent', sent_at = now(), last_error = NULL WHERE id = $1",
        delivery_id,
    )


async def mark_failed(conn: Connection, delivery_id: int, failure: str, error: str) -> None:
    """Give up on this delivery for good (a 5xx, a mail that cannot be built)."""
    await conn.execute(
        "UPDATE deliveries SET status = 'failed', failure = $2, last_error = $3 WHERE id = $1 AND status <> 'sent'",
        delivery_id,
        failure,
        error[:1000],
    )


# Hand claimed deliveries back. `after` > 0: a transient failure for these recipients, not before that many seconds
# again; past the horizon (counted from the delivery's first try) such a delivery is given up instead. `unspent`:
# the try never reached the server (it was down, or the sender stopped), so it is not counted.
_RELEASE = """
UPDATE deliveries
SET status = CASE WHEN $3::float8 > 0 AND created_at < now() - make_interval(secs => $4::float8)
                  THEN 'failed' ELSE 'queued' END,
    failure = CASE WHEN $3::float8 > 0 AND created_at < now() - make_interval(secs => $4::float8) THEN 'expired' END,
    not_before = CASE WHEN $3::float8 > 0 THEN now() + make_interval(secs => $3::float8) END,
    attempts = CASE WHEN $5::bool THEN greatest(attempts - 1, 0) ELSE attempts END,
    claimed_at = NULL, claimed_by = NULL, last_error = coalesce($2::text, last_error)
WHERE id = ANY($1::bigint[]) AND status = 'claimed'
RETURNING id, status
"""


async def release(
    conn: Connection,
    delivery_ids: Sequence[int],
    error: str | None,
    *,
    after: float = 0.0,
    horizon: float = 0.0,
    unspent: bool = False,
) -> dict[int, str]:
    """The new status by id ('queued', or 'failed' past the horizon)."""
    if not delivery_ids:
        return {}
    rows = await conn.fetch(
        _RELEASE, list(delivery_ids), error[:1000] if error else None, float(after), float(horizon), unspent
    )
    return {int(r["id"]): str(r["status"]) for r in rows}


async def status_of(conn: Connection, key: str) -> str | None:
    value = await conn.fetchval("SELECT status FROM deliveries WHERE key = $1", key)
    return str(value) if value is not None else None


async def claimed_for_meeting(conn: Connection, meeting_id: UUID, kinds: Sequence[str], lease: float) -> int:
    """Deliveries of these kinds for the meeting that a sender holds right now (claimed within the lease)."""
    value = await conn.fetchval(
        """
        SELECT count(*) FROM deliveries
        WHERE meeting_id = $1 AND kind = ANY($2::text[]) AND status = 'claimed'
          AND claimed_at > now() - make_interval(secs => $3)
        """,
        meeting_id,
        list(kinds),
        float(lease),
    )
    return int(value or 0)
