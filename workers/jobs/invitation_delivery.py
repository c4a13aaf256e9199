"""Exactly-once sending for a block of invitees: deliveries.send_once's protocol, with the ensure batched.

send_once spends three statements on every mail (ensure, claim, mark sent). Here the delivery rows of a whole block
are ensured in one statement; then, per mail and in send_once's order: claim (right before the send, so a claim's
lease covers one send, never a whole block), build, send, and mark it sent on the same connection as the very next
thing, with the claim of the following mail riding in that same statement: one round trip per mail. The block is
shielded, so a cancellation cannot fall between the server's 250 and the record of it. A mail is only ever sent by
whoever holds its claim, so two senders on one batch, or a re-run, never send it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import msgspec

from services.db import Connection
from workers import deliveries
from workers.context import Ctx, mailer_of, pool_of, settings_of, tuning_of, worker_id_of
from workers.mailer import PermanentMailError, TransientMailError, domain_of, message_id_for

log = logging.getLogger(__name__)


class Item(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    kind: str
    recipient: str
    meeting_id: UUID
    participant_id: UUID | None
    sequence: int
    build: Callable[[str], EmailMessage]


class State(msgspec.Struct, frozen=True, kw_only=True):
    """How an item's delivery stands after the block: sent (by anyone), failed for good, or someone else's."""

    status: str
    sequence: int
    last_error: str | None = None


# deliveries.ensure for many keys: inserted rows come back from the INSERT, existing ones from the SELECT (which,
# in the same statement, cannot see the new rows, so nothing is listed twice).
_ENSURE_MANY = """
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::int[], $6::text[])
        AS t(key, kind, participant_id, recipient, sequence, message_id)
), inserted AS (
    INSERT INTO deliveries (key, kind, meeting_id, participant_id, recipient, sequence, message_id)
    SELECT key, kind, $7, participant_id, recipient, sequence, message_id FROM input
    ON CONFLICT (key) DO NOTHING
    RETURNING id, key
)
SELECT id, key FROM inserted
UNION ALL SELECT d.id, d.key FROM deliveries d JOIN input i ON i.key = d.key
"""
_STATES = "SELECT id, status, sequence, last_error FROM deliveries WHERE id = ANY($1::bigint[])"


async def _ensure(conn: Connection, items: Sequence[Item], message_ids: list[str]) -> dict[str, int]:
    rows = await conn.fetch(
        _ENSURE_MANY,
        [i.key for i in items],
        [i.kind for i in items],
        [i.participant_id for i in items],
        [i.recipient for i in items],
        [i.sequence for i in items],
        message_ids,
        items[0].meeting_id,
    )
    return {r["key"]: int(r["id"]) for r in rows}


# deliveries.mark_sent for one row and deliveries.claim (same condition) for the next, in one round trip. The
# mark is still the very next statement after the server's 250; the claim rides along, just before its own send.
_MARK_SENT_AND_CLAIM = """
WITH sent AS (
    UPDATE deliveries SET status = 'sent', sent_at = now(), last_error = NULL WHERE id = $1
)
UPDATE deliveries
SET status = 'claimed', claimed_at = now(), claimed_by = $4, attempts = attempts + 1
WHERE id = $2
  AND (status = 'queued' OR (status = 'claimed' AND claimed_at < now() - make_interval(secs => $3)))
RETURNING id
"""


async def _send(ctx: Ctx, conn: Connection, delivery_id: int, item: Item, message_id: str) -> State | None:
    """Send one claimed delivery; None when it went out (the caller records that), else its final state."""
    try:
        message = item.build(message_id)
        await mailer_of(ctx).send(message)
    except (PermanentMailError, ValueError) as exc:
        # Refused by the server, or a message that cannot be built (an address the mailer will not take): trying
        # again cannot help, and one such row must not hold up the rest of a batch.
        error = str(exc) if isinstance(exc, PermanentMailError) else f"niet te versturen: {exc}"
        await deliveries.mark_failed(conn, delivery_id, error)
        log.warning("delivery %s (%s) failed for good: %s", delivery_id, item.key, error)
        return State(status="failed", sequence=item.sequence, last_error=error)
    except BaseException as exc:  # transient or unexpected: hand it back so the next attempt may claim it at once
        await deliveries.release(conn, delivery_id, f"{type(exc).__name__}: {exc}")
        raise
    return None


def _track(ctx: Ctx, task: asyncio.Future[Any]) -> None:
    """Shutdown waits for these (workers/lifecycle.py), so a shielded send is not cut off by loop close."""
    inflight: set[asyncio.Future[Any]] | None = ctx.get("inflight")
    if inflight is not None:
        inflight.add(task)
        task.add_done_callback(inflight.discard)


class Delivered(msgspec.Struct, frozen=True, kw_only=True):
    states: dict[str, State]  # by key; missing while another sender holds the delivery, or when not reached
    error: TransientMailError | None = None  # the SMTP server failed; the rest of the block was not claimed


async def deliver_block(ctx: Ctx, items: Sequence[Item]) -> Delivered:
    """Send each item once ever (by its key). The whole block is shielded: a cancellation (shutdown, job timeout)
    lets it finish (at most BLOCK mails; shutdown waits for it) rather than cut between a send and its record."""
    if not items:
        return Delivered(states={})
    task = asyncio.ensure_future(_deliver_block(ctx, items))
    _track(ctx, task)
    return await asyncio.shield(task)


async def _deliver_block(ctx: Ctx, items: Sequence[Item]) -> Delivered:
    domain = domain_of(settings_of(ctx).mail_from)
    message_ids = [message_id_for(i.key, domain) for i in items]
    states: dict[str, State] = {}
    error: TransientMailError | None = None
    lease, worker_id = float(tuning_of(ctx).delivery_lease), worker_id_of(ctx)
    # One connection from the first claim to the last mark: no pool wait can fall between a send and its record.
    async with pool_of(ctx).acquire() as conn:
        ids = await _ensure(conn, items, message_ids)
        others: dict[int, str] = {}
        ahead: bool | None = None  # the claim of this item, when it was taken along with the previous mark
        for n, (item, message_id) in enumerate(zip(items, message_ids, strict=True)):
            delivery_id = ids[item.key]
            if error is None and ahead is None:
                ahead = await deliveries.claim(conn, delivery_id, lease, worker_id)
            claimed, ahead = bool(ahead) and error is None, None
            if not claimed:
                others[delivery_id] = item.key
                continue
            try:
                failed = await _send(ctx, conn, delivery_id, item, message_id)
            except TransientMailError as exc:
                error = exc  # the rest of the block stays unclaimed for the next attempt
                continue
            if failed is not None:
                states[item.key] = failed
                continue
            nxt = ids[items[n + 1].key] if n + 1 < len(items) else None
            if nxt is None:
                await deliveries.mark_sent(conn, delivery_id)
            else:
                ahead = await conn.fetchval(_MARK_SENT_AND_CLAIM, delivery_id, nxt, lease, worker_id) is not None
            states[item.key] = State(status="sent", sequence=item.sequence)
        if others:
            for row in await conn.fetch(_STATES, list(others)):
                if row["status"] in ("sent", "failed"):
                    states[others[row["id"]]] = State(
                        status=row["status"], sequence=row["sequence"], last_error=row["last_error"]
                    )
    return Delivered(states=states, error=error)
