"""Reminder rows follow the meeting and its confirmed participants; the sweep fires them when they fall due.

`sync` makes a meeting's rows (or one registration's) match the current state, whatever woke it: the meeting
was published, moved, re-ruled or cancelled, a registration was confirmed or ended, someone opted out or in.
It reads everything again, so running it twice or out of order changes nothing (workers/jobs/reminders.py).
It takes no lock on the meeting or the registrations (their rows are the hot locks of registering); a sync that
raced a change is caught when the row falls due, since `fire_due` checks it against the current state.

`fire_due` (a worker sweep) claims pending rows whose moment has come with FOR UPDATE SKIP LOCKED: a row
still useful (the meeting has not started) becomes `fired` and emits `reminder.due`, whose mail job sends it
once through the deliveries ledger; a row whose start has passed too (the workers were down) becomes `missed`.
Everything is in PostgreSQL, so a Redis flush loses nothing. Both functions take `now` so tests can move the
clock instead of waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from uuid import UUID

from schemas.events import ReminderDue
from schemas.reminders import ReminderRule
from services.db import Connection
from services.errors import FieldError, InvalidInput
from services.outbox import emit
from services.reminders import queries as q
from services.reminders import rules

log = logging.getLogger(__name__)

Key = tuple[UUID, str]  # (registration, rule key)


def check_rules(value: Sequence[ReminderRule], field: str = "reminders") -> None:
    """Raises InvalidInput naming the rule (`reminders[1].before`) that cannot be used."""
    errors = [FieldError(field=f"{field}[{i}].{name}", message=text) for i, name, text in rules.problems(value)]
    if errors:
        raise InvalidInput(f"{errors[0].field}: {errors[0].message}", errors=errors)


def plan(existing: Mapping[Key, q.Row], wanted: Mapping[Key, datetime], now: datetime) -> list[q.Upsert]:
    """The writes that make the rows match what is wanted now. Pure.

    A new row whose moment has already passed is `skipped`, not sent late (no "one week before" mail five hours
    before); a pending row that is no longer wanted is `cancelled`. A pending row whose moment passed unchanged
    is left for the sweep, which alone decides between late and `missed`. Fired and missed rows are history.
    """
    out: list[q.Upsert] = []
    for (registration_id, rule), due in wanted.items():
        row = existing.get((registration_id, rule))
        status: str | None = None
        if row is None or (row.status == "pending" and row.due_at != due):
            status = "pending" if due > now else "skipped"
        elif row.status in ("cancelled", "skipped") and due > now and (row.status == "cancelled" or row.due_at != due):
            status = "pending"
        if status is not None:
            out.append(
                q.Upsert(registration_id=registration_id, rule=rule, due_at=due, status=status, exists=row is not None)
            )
    for (registration_id, rule), row in existing.items():
        if row.status == "pending" and (registration_id, rule) not in wanted:
            out.append(
                q.Upsert(registration_id=registration_id, rule=rule, due_at=row.due_at, status="cancelled", exists=True)
            )
    return out


async def sync(
    conn: Connection, meeting_id: UUID, *, registration_id: UUID | None = None, now: datetime | None = None
) -> int:
    """Make the meeting's reminder rows (or one registration's) match the current state; returns rows written."""
    now = now or datetime.now(UTC)
    meeting = await q.meeting_for_sync(conn, meeting_id)
    wanted: dict[Key, datetime] = {}
    if meeting is not None and meeting.status == "published" and meeting.starts_at > now:
        in_force = rules.effective(meeting.reminders, meeting.series_reminders)
        moments = {rules.key(r): rules.due_at(r, meeting.starts_at, meeting.timezone) for r in in_force}
        for rid in await q.wanted_registrations(conn, meeting_id, registration_id):
            for rule, due in moments.items():
                wanted[(rid, rule)] = due
    existing = {(r.registration_id, r.rule): r for r in await q.rows(conn, meeting_id, registration_id)}
    changes = plan(existing, wanted, now)
    await q.apply(conn, meeting_id, changes)
    return len(changes)


async def fire_due(conn: Connection, *, now: datetime | None = None, batch: int = 500) -> int:
    """Sweep: fire the reminders whose moment has come (reminder.due), or record them missed; returns how many."""
    now = now or datetime.now(UTC)
    due = await q.claim_due(conn, now, batch)
    if not due:
        return 0
    outcome: dict[str, list[int]] = {"fired": [], "missed": [], "skipped": [], "cancelled": []}
    fired: list[q.Due] = []
    for d in due:
        verdict = _verdict(d, now)
        if isinstance(verdict, datetime):
            await q.retime_one(conn, d.id, verdict)  # a sync raced a move: this is the moment now
            continue
        outcome[verdict].append(d.id)
        if verdict == "fired":
            fired.append(d)
    for status, ids in outcome.items():
        await q.set_status(conn, ids, status, now)
    for d in fired:
        await emit(
            conn,
            d.meeting_id,
            ReminderDue(reminder_id=d.id, registration_id=d.registration_id, meeting_id=d.meeting_id),
        )
    if outcome["missed"]:
        log.warning(
            "%d reminders missed: their moment and the start passed while no worker ran", len(outcome["missed"])
        )
    return len(due)


def _verdict(d: q.Due, now: datetime) -> str | datetime:
    """What a due row becomes, checked against the meeting and registration as they are now (the sync that wrote
    it may have raced a change): fired, missed (the start has passed too), cancelled (no longer wanted),
    skipped (moved to a moment already past), or a later moment to wait for."""
    if not d.wanted or d.meeting_status != "published":
        return "cancelled"
    if d.starts_at <= now:
        return "missed"
    in_force = {rules.key(r): r for r in rules.effective(d.reminders, d.series_reminders)}
    rule = in_force.get(d.rule)
    if rule is None:
        return "cancelled"
    moment = rules.due_at(rule, d.starts_at, d.timezone)
    if moment == d.due_at:
        return "fired"
    return moment if moment > now else "skipped"


async def set_for_meeting(conn: Connection, registration_id: UUID, *, wanted: bool) -> bool:
    """Reminders on or off for one registration (its meeting). False when there is no such registration."""
    meeting_id = await q.set_registration_off(conn, registration_id, not wanted)
    if meeting_id is None:
        return False
    await sync(conn, meeting_id, registration_id=registration_id)
    return True


async def set_for_all(conn: Connection, participant_id: UUID, *, wanted: bool) -> None:
    """All reminders on or off for a person: their switch, and the rows of every confirmed registration."""
    registrations = await q.set_participant_off(conn, participant_id, not wanted)
    if not wanted:
        await q.cancel_pending_of(conn, [rid for _, rid in registrations])
        return
    for meeting_id, rid in registrations:
        await sync(conn, meeting_id, registration_id=rid)
