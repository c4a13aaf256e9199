"""Exactly-once side effects: record each one under a unique key, claim it, act, mark it done.

    delivery_id = await ensure(conn, key, kind, recipient=...)        # insert or find
    if await claim(conn, delivery_id, lease_seconds, worker_id):      # conditional UPDATE
        ... act ...
        await mark_sent(conn, delivery_id)

A job that runs twice (arq retry, re-enqueue after FLUSHALL, two workers) finds the row `sent`, or
claimed by someone else, and does nothing. A claim whose worker died is given up in two ways: the
dead worker is detected through its liveness lock (workers/liveness.py) and its claims return to
`queued` within seconds; failing that, a claim older than the lease may be taken over.

The at-least-once window: when the SMTP server has accepted a message (answered 250 to the end of
DATA) but the process dies before `mark_sent` commits, the retry sends the message again. Nothing
can close that window with a server that offers no way to ask "did you get this?". `send_once`
keeps it as small as it can be: the connection that writes `mark_sent` is held from before the send,
the UPDATE is the very next thing after the 250, and a cancellation (shutdown, job timeout) cannot
interrupt the send-then-mark pair. Both copies carry the same Message-ID (derived from the key), so
receivers that de-duplicate on it show one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, NamedTuple
from uuid import UUID

from services.db import Connection, required
from workers.context import Ctx, mailer_of, pool_of, settings_of, tuning_of, worker_id_of
from workers.mailer import PermanentMailError, domain_of, message_id_for

log = logging.getLogger(__name__)

_ENSURE = """
WITH inserted AS (
    INSERT INTO deliveries (key, kind, meeting_id, participant_id, recipient, sequence, message_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (key) DO NOTHING
    RETURNING id
)
SELECT id FROM inserted UNION ALL SELECT id FROM deliveries WHERE key = $1
LIMIT 1
"""

# ensure + claim in one round trip: insert claimed, or claim the existing row if it may be claimed.
_ENSURE_AND_CLAIM = """
INSERT INTO deliveries (key, kind, meeting_id, participant_id, recipient, sequence, message_id,
                        status, claimed_at, claimed_by, attempts)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'claimed', now(), $9, 1)
ON CONFLICT (key) DO UPDATE
SET status = 'claimed', claimed_at = now(), claimed_by = $9, attempts = deliveries.attempts + 1
WHERE deliveries.status = 'queued'
   OR (deliveries.status = 'claimed' AND deliveries.claimed_at < now() - make_interval(secs => $8))
RETURNING id
"""

_CLAIM = """
UPDATE deliveries
SET status = 'claimed', claimed_at = now(), claimed_by = $3, attempts = attempts + 1
WHERE id = $1
  AND (status = 'queued' OR (status = 'claimed' AND claimed_at < now() - make_interval(secs => $2)))
RETURNING id
"""


async def ensure(
    conn: Connection,
    key: str,
    kind: str,
    *,
    recipient: str,
    meeting_id: UUID | None = None,
    participant_id: UUID | None = None,
    sequence: int = 0,
    message_id: str | None = None,
) -> int:
    """The id of the delivery with this unique key, inserting it (status queued) when new."""
    value = await conn.fetchval(_ENSURE, key, kind, meeting_id, participant_id, recipient, sequence, message_id)
    return int(required(value))


async def claim(conn: Connection, delivery_id: int, lease_seconds: float, worker_id: int | None = None) -> bool:
    """Take the delivery for this attempt. False when it was sent, failed for good, or is someone else's."""
    return await conn.fetchval(_CLAIM, delivery_id, float(lease_seconds), worker_id) is not None


async def ensure_and_claim(
    conn: Connection,
    key: str,
    kind: str,
    *,
    recipient: str,
    lease_seconds: float,
    worker_id: int | None = None,
    meeting_id: UUID | None = None,
    participant_id: UUID | None = None,
    sequence: int = 0,
    message_id: str | None = None,
) -> int | None:
    """`ensure` then `claim`, in one statement: the delivery id when this attempt may act, else None."""
    value = await conn.fetchval(
        _ENSURE_AND_CLAIM,
        key,
        kind,
        meeting_id,
        participant_id,
        recipient,
        sequence,
        message_id,
        float(lease_seconds),
        worker_id,
    )
    return int(value) if value is not None else None


async def mark_sent(conn: Connection, delivery_id: int) -> None:
    await conn.execute(
        "UPDATE deliveries SET status = 'sent', sent_at = now(), last_error = NULL WHERE id = $1", delivery_id
    )


async def mark_failed(conn: Connection, delivery_id: int, error: str) -> None:
    """Give up on this delivery for good (e.g. the address does not exist)."""
    await conn.execute(
        "UPDATE deliveries SET status = 'failed', last_error = $2 WHERE id = $1 AND status <> 'sent'",
        delivery_id,
        error[:1000],
    )


async def release(conn: Connection, delivery_id: int, error: str | None = None) -> None:
    """Hand a claimed delivery back (a transient failure): the next attempt may claim it at once."""
    await conn.execute(
        """
        UPDATE deliveries SET status = 'queued', claimed_at = NULL, claimed_by = NULL, last_error = $2
        WHERE id = $1 AND status = 'claimed'
        """,
        delivery_id,
        error[:1000] if error else None,
    )


async def status_of(conn: Connection, key: str) -> str | None:
    value = await conn.fetchval("SELECT status FROM deliveries WHERE key = $1", key)
    return str(value) if value is not None else None


async def send_once(
    ctx: Ctx,
    *,
    key: str,
    kind: str,
    recipient: str,
    build: Callable[[str], EmailMessage],
    meeting_id: UUID | None = None,
    participant_id: UUID | None = None,
    sequence: int = 0,
) -> bool:
    """Send the mail `build(message_id)` makes, once ever for `key`. True when this call sent it.

    Raises TransientMailError (the job retries; the delivery is handed back). A refused recipient
    (PermanentMailError) marks the delivery failed and returns False: retrying would not help.
    """
    message_id = message_id_for(key, domain_of(settings_of(ctx).mail_from))
    record = _Record(key, kind, recipient, meeting_id, participant_id, sequence, message_id)
    # Shielded: a cancellation (shutdown, job timeout) lets claim-send-mark finish instead of cutting
    # between send and mark, which would leave a sent message `claimed` and so send it twice. The job
    # itself still ends cancelled; arq re-queues it and the re-run finds the delivery sent.
    step = asyncio.ensure_future(_deliver(ctx, record, build))
    _track(ctx, step)
    return await asyncio.shield(step)


class _Record(NamedTuple):
    key: str
    kind: str
    recipient: str
    meeting_id: UUID | None
    participant_id: UUID | None
    sequence: int
    message_id: str


async def _deliver(ctx: Ctx, record: _Record, build: Callable[[str], EmailMessage]) -> bool:
    # One connection from before the claim until after mark_sent: no pool wait can widen the window
    # between the server's 250 and our record of it.
    async with pool_of(ctx).acquire() as conn:
        delivery_id = await ensure_and_claim(
            conn,
            record.key,
            record.kind,
            recipient=record.recipient,
            lease_seconds=tuning_of(ctx).delivery_lease,
            worker_id=worker_id_of(ctx),
            meeting_id=record.meeting_id,
            participant_id=record.participant_id,
            sequence=record.sequence,
            message_id=record.message_id,
        )
        if delivery_id is None:
            return False  # sent already, failed for good, or someone else's claim
        try:
            message = build(record.message_id)
            await mailer_of(ctx).send(message)
        except PermanentMailError as exc:
            await mark_failed(conn, delivery_id, str(exc))
            log.warning("delivery %s (%s) failed for good: %s", delivery_id, record.key, exc)
            return False
        except BaseException as exc:  # transient or unexpected: hand it back so the retry may claim it at once
            await release(conn, delivery_id, f"{type(exc).__name__}: {exc}")
            raise
        await mark_sent(conn, delivery_id)
        return True


def _track(ctx: Ctx, task: asyncio.Future[bool]) -> None:
    """Shutdown waits for these (workers/lifecycle.py), so a shielded send is not cut off by loop close."""
    # When the job was cancelled nobody awaits the result any more; fetch it so errors are logged, not lost.
    task.add_done_callback(_log_orphan_failure)
    inflight: set[asyncio.Future[Any]] | None = ctx.get("inflight")
    if inflight is not None:
        inflight.add(task)
        task.add_done_callback(inflight.discard)


def _log_orphan_failure(task: asyncio.Future[bool]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.info("delivery step ended with %r", task.exception())
