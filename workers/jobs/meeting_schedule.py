"""A meeting's scheduled work follows the meeting: `meeting.ended` once its end has passed.

One job, `sync_meeting_schedule`, is routed from meeting.published, .updated and .cancelled. It
does not apply the event it was woken by; it reads the meeting as it is now and makes the schedule
match. So the order in which those jobs run does not matter, and running one twice changes nothing:

    published  -> the `meeting.ended` task exists, due at ends_at
    cancelled  -> every pending task of the meeting is cancelled
    and always -> anchored tasks (also later reminders) follow the current starts_at/ends_at

The meeting row is read FOR SHARE, so a cancellation committing meanwhile waits for this job and
its own job then sees (and cancels) the task this one wrote.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.events import MeetingCancelled, MeetingEnded, MeetingPublished, MeetingUpdated
from services import scheduling
from services.db import Connection
from services.outbox import emit
from workers.context import load_event, pool_of
from workers.registry import job

MEETING_ENDED = "meeting.ended"


@job()
async def sync_meeting_schedule(ctx: dict[str, Any], outbox_id: int) -> None:
    event = await load_event(ctx, outbox_id)
    payload = event.payload
    if isinstance(payload, MeetingUpdated) and not payload.reschedule:
        return  # neither time nor place moved
    if not isinstance(payload, MeetingPublished | MeetingUpdated | MeetingCancelled):
        return
    async with pool_of(ctx).acquire() as conn, conn.transaction():
        await sync_meeting(conn, payload.meeting_id)


async def sync_meeting(conn: Connection, meeting_id: Any) -> None:
    """Make the meeting's scheduled tasks match its current state (in the caller's transaction)."""
    meeting = await conn.fetchrow("SELECT status, starts_at, ends_at FROM meetings WHERE id = $1 FOR SHARE", meeting_id)
    if meeting is None or meeting["status"] == "cancelled":
        await scheduling.cancel(conn, None, meeting_id)
        return
    if meeting["status"] != "published":
        return
    await scheduling.schedule(conn, MEETING_ENDED, meeting_id, meeting["ends_at"], anchor="ends_at")
    await scheduling.retime(
        conn, meeting_id, anchors={"starts_at": meeting["starts_at"], "ends_at": meeting["ends_at"]}
    )


@scheduling.handler(MEETING_ENDED)
async def emit_meeting_ended(conn: Connection, task: scheduling.ScheduledTask) -> datetime | None:
    """Emit `meeting.ended` once, when a published meeting's end has passed."""
    meeting = await conn.fetchrow("SELECT status, ends_at FROM meetings WHERE id = $1 FOR UPDATE", task.aggregate_id)
    if meeting is None or meeting["status"] != "published":
        return None  # cancelled or gone: nothing ends
    if meeting["ends_at"] > datetime.now(UTC):
        later: datetime = meeting["ends_at"]
        return later  # moved later and not yet retimed: come back then
    await emit(conn, task.aggregate_id, MeetingEnded(meeting_id=task.aggregate_id))
    return None
