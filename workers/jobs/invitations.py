"""Invitation mail jobs: batches (invitations, updates, cancellations); a person's own mails are participant_mail.py.

    invitation.requested            -> invitation_fanout: resolve the batch and send it (invitation_batches.py)
    meeting.updated (reschedule)    -> invitation_schedule_update: (re)time ONE pending update mail per meeting
       ... UPDATE_TASK comes due    -> create_update_batch: an 'update' batch + invitation.requested
    meeting.cancelled               -> invitation_meeting_cancelled: stop queued invitations, a 'cancellation' batch
    participant.erased              -> invitation_forget_participant: their queued mail stops, their address goes

Debounce: every reschedule moves the pending task to now + LEERKRING_UPDATE_MAIL_DEBOUNCE (60 s), but never past
the first edit + LEERKRING_UPDATE_MAIL_MAX_DELAY (600 s), so five edits in a minute make one update, sent with the
SEQUENCE current when it goes out. While it waits, the meeting's API answer says when (`pending_update`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from schemas.events import (
    InvitationRequested,
    MeetingCancelled,
    MeetingUpdated,
    ParticipantErased,
)
from services import scheduling
from services.db import Connection
from services.invitations import queries, sending
from services.invitations.changes import Placement, baseline_from, merge_baseline, previous, summarise
from services.meetings.queries import UPDATE_MAIL_TASK
from services.outbox import emit
from workers.context import load_event, pool_of, settings_of
from workers.jobs.invitation_batches import process_batch
from workers.registry import job

log = logging.getLogger(__name__)

UPDATE_TASK = UPDATE_MAIL_TASK


@job(timeout=3600.0)
async def invitation_fanout(ctx: dict[str, Any], outbox_id: int) -> None:
    """Resolve and send one batch. Long-running by design; it resumes where it stopped when run again."""
    event = await load_event(ctx, outbox_id)
    if isinstance(event.payload, InvitationRequested):
        await process_batch(ctx, event.payload.batch_id)


async def new_batch(
    conn: Connection,
    meeting_id: UUID,
    kind: str,
    sequence: int,
    *,
    changes: dict[str, Any] | None = None,
    reason: str = "",
    seated_only: bool = False,
) -> UUID | None:
    """An update or cancellation batch for this meeting version, with its event; None when it exists already."""
    batch_id = await queries.insert_follow_up_batch(
        conn, meeting_id, kind, sequence, changes=changes, reason=reason, seated_only=seated_only
    )
    if batch_id is not None:
        await emit(conn, meeting_id, InvitationRequested(batch_id=batch_id, meeting_id=meeting_id))
    return batch_id


@job()
async def invitation_schedule_update(ctx: dict[str, Any], outbox_id: int) -> None:
    event = await load_event(ctx, outbox_id)
    payload = event.payload
    if not isinstance(payload, MeetingUpdated) or not payload.reschedule:
        return
    baseline = baseline_from(payload.changes, payload.sequence)
    if baseline:
        settings = settings_of(ctx)
        async with pool_of(ctx).acquire() as conn, conn.transaction():
            await schedule_update(
                conn,
                payload.meeting_id,
                baseline,
                payload.sequence,
                debounce=timedelta(seconds=settings.update_mail_debounce),
                max_delay=timedelta(seconds=settings.update_mail_max_delay),
            )


async def schedule_update(
    conn: Connection,
    meeting_id: UUID,
    baseline: dict[str, Any],
    sequence: int,
    *,
    debounce: timedelta,
    max_delay: timedelta,
    now: datetime | None = None,
) -> None:
    """Fold this reschedule into the meeting's pending update mail, or start one; moves its due time to `debounce`
    from now, but never later than `max_delay` after the first edit of the burst."""
    # One writer per meeting at a time, so two edits handled at once cannot both start a window.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"invitation-update:{meeting_id}")
    status = await conn.fetchval("SELECT status FROM meetings WHERE id = $1", meeting_id)
    if status != "published":
        return
    now = now or datetime.now(UTC)
    row = await conn.fetchrow(
        "SELECT dedupe_key, payload FROM scheduled_tasks WHERE kind = $1 AND aggregate_id = $2 AND status = 'pending' "
        "ORDER BY id LIMIT 1 FOR UPDATE",
        UPDATE_TASK,
        meeting_id,
    )
    if row is None:
        key, first_at, merged = f"seq:{sequence}", now, baseline
    else:
        key = row["dedupe_key"]
        first_at = datetime.fromisoformat(row["payload"]["first_at"])
        merged = merge_baseline(row["payload"]["baseline"], baseline)
    due = min(now + debounce, first_at + max_delay)
    payload = {"baseline": merged, "first_at": first_at.isoformat()}
    await scheduling.schedule(conn, UPDATE_TASK, meeting_id, due, payload=payload, dedupe_key=key)


@scheduling.handler(UPDATE_TASK)
async def create_update_batch(conn: Connection, task: scheduling.ScheduledTask) -> datetime | None:
    """Due: one 'update' batch for the meeting's current version, unless the edits cancelled each other out."""
    meeting = await conn.fetchrow(
        "SELECT status, sequence, starts_at, ends_at, timezone, venue_name, venue_address, venue_city, online_url "
        "FROM meetings WHERE id = $1 FOR SHARE",
        task.aggregate_id,
    )
    # Until the meeting ends: a room changed while people are on their way is worth a mail most of all.
    if meeting is None or meeting["status"] != "published" or meeting["ends_at"] <= datetime.now(UTC):
        return None
    now = Placement(**{k: meeting[k] for k in Placement.__struct_fields__})
    baseline: dict[str, Any] = task.payload.get("baseline", {})
    lines = summarise(previous(now, baseline), now, "nl")
    if not lines:
        log.info("meeting %s: edits undid each other, no update mail", task.aggregate_id)
        return None
    # Only the online link changed: the people with a seat alone may read it, so for everyone else (invitees, the
    # waiting list) the update would say nothing. They get none; their calendar entry never held the link.
    seated_only = all(line.confidential for line in lines)
    await new_batch(conn, task.aggregate_id, "update", meeting["sequence"], changes=baseline, seated_only=seated_only)
    return None


@job()
async def invitation_meeting_cancelled(ctx: dict[str, Any], outbox_id: int) -> None:
    event = await load_event(ctx, outbox_id)
    payload = event.payload
    if not isinstance(payload, MeetingCancelled):
        return
    async with pool_of(ctx).acquire() as conn, conn.transaction():
        await sending.abandon_requests(conn, payload.meeting_id)
        await scheduling.cancel(conn, UPDATE_TASK, payload.meeting_id)
        await new_batch(conn, payload.meeting_id, "cancellation", payload.sequence, reason=payload.reason)


@job()
async def invitation_forget_participant(ctx: dict[str, Any], outbox_id: int) -> None:
    """An erased participant: no more mail to them, and their address and answers leave the invitation tables.
    The rows themselves stay (anonymous), so the organiser's counts do not change after the fact."""
    event = await load_event(ctx, outbox_id)
    if isinstance(event.payload, ParticipantErased):
        async with pool_of(ctx).acquire() as conn, conn.transaction():
            await queries.forget_participant(conn, event.payload.participant_id)
