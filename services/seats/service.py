"""Freed seats: promotion from the waiting list, capacity changes, meeting cancellation, offer expiry.

Every function here expects (or takes) the meeting row lock, then recounts the seats from the rows, so a
promotion always sees the true number of free seats whatever freed them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from schemas.events import RegistrationCancelled, RegistrationPromoted
from services.db import Connection
from services.errors import Conflict
from services.outbox import emit
from services.seats import queries as q
from services.seats.rules import Seats, capacity_allowed, promotable, promotion

log = logging.getLogger(__name__)

# Meeting fields whose change may free seats or change what a freed seat does.
SEAT_FIELDS = frozenset({"capacity", "waitlist_mode", "offer_hours", "starts_at"})


async def emit_finished(conn: Connection, row: asyncpg.Record, previous_status: str) -> None:
    await emit(
        conn,
        row["meeting_id"],
        RegistrationCancelled(
            registration_id=row["id"],
            meeting_id=row["meeting_id"],
            participant_id=row["participant_id"],
            previous_status=previous_status,
            reason=row["end_reason"] or "",
        ),
    )


async def fill_free_seats(conn: Connection, meeting_id: UUID, *, now: datetime | None = None) -> int:
    """Give every free seat to the head of the waiting list, in position order; returns how many moved up.
    The recount is an UPDATE of the meeting row, so it takes the meeting lock if the caller has not already."""
    meeting = await q.refresh_counts(conn, meeting_id)
    now = now or datetime.now(UTC)
    if meeting.status != "published" or meeting.ends_at <= now:
        return 0
    count = promotable(meeting.seats)
    if count == 0:
        return 0
    status, deadline = promotion(
        "offer" if meeting.waitlist_mode == "offer" else "auto",
        now=now,
        starts_at=meeting.starts_at,
        offer_hours=meeting.offer_hours,
    )
    promoted = await q.promote_head(conn, meeting_id, count, status, deadline)
    await q.refresh_counts(conn, meeting_id)
    for row in promoted:
        await emit(
            conn,
            meeting_id,
            RegistrationPromoted(
                registration_id=row["id"],
                meeting_id=meeting_id,
                participant_id=row["participant_id"],
                mode="offer" if status == "offered" else "auto",
                offer_expires_at=deadline,
            ),
        )
    return len(promoted)


async def check_capacity(conn: Connection, meeting: asyncpg.Record, new_capacity: int) -> None:
    """Refuse a capacity below the seats already given away. Raises Conflict naming `capacity`.
    Called by the meetings service with the meeting row locked."""
    seats = Seats(meeting["capacity"], meeting["confirmed_count"], meeting["offered_count"], 0)
    if not capacity_allowed(seats, new_capacity):
        held = f"{seats.confirmed} bevestigde inschrijvingen"
        if seats.offered:
            held += f" en {seats.offered} aangeboden plaatsen"
        raise Conflict(
            f"De capaciteit kan niet lager worden dan het aantal vergeven plaatsen: er zijn {held}. "
            "Annuleer eerst inschrijvingen als er minder plaatsen zijn.",
            field="capacity",
        )


async def after_meeting_change(conn: Connection, meeting_id: UUID, changed: Mapping[str, Any]) -> None:
    """Called by the meetings service after an update, still under the meeting lock."""
    if "starts_at" in changed:
        await q.clamp_offers(conn, meeting_id, changed["starts_at"])
    if changed.keys() & SEAT_FIELDS:
        await fill_free_seats(conn, meeting_id)


async def cancel_all(conn: Connection, meeting_id: UUID, reason: str = "meeting_cancelled") -> int:
    """The meeting is cancelled: every active registration ends, each with its own event."""
    rows = await q.finish_all(conn, meeting_id, reason, statuses=("confirmed", "offered", "waitlisted"))
    for row in rows:
        await emit_finished(conn, row, row["previous_status"])
    await q.refresh_counts(conn, meeting_id)
    return len(rows)


async def expire_due_offers(conn: Connection, *, batch: int = 20) -> int:
    """Sweep: end offers whose deadline passed and pass each seat on; returns how many offers expired.
    Meetings are claimed with FOR UPDATE SKIP LOCKED, so several workers sweeping at once (and live requests)
    never wait on each other: a meeting that is busy now is picked up by the next run. Each meeting gets its own
    (sub)transaction; under the worker's sweep transaction the locks last until it commits, hence small batches."""
    total = 0
    for meeting_id in await q.meetings_with_due_offers(conn, batch):
        async with conn.transaction():
            if await q.try_lock_meeting(conn, meeting_id) is None:
                continue
            rows = await q.finish_all(conn, meeting_id, "offer_expired", statuses=("offered",), only_due_offers=True)
            for row in rows:
                await emit_finished(conn, row, "offered")
            await fill_free_seats(conn, meeting_id)
            total += len(rows)
    if total:
        log.info("expired %d seat offers", total)
    return total
