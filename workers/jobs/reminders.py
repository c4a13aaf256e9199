"""Reminders: keep the rows in step with the meeting and its people, and mail each one that falls due.

    meeting.published / .updated / .cancelled  -> sync_reminders: the meeting's rows follow its start, rules, state
    registration.confirmed / .promoted / .cancelled -> sync_reminders: that registration's rows appear or go
    reminder.due                                -> reminder_mail: the personal reminder, once (deliveries ledger);
                                                   "Kom je nog?" for those who registered long ago (a rule's
                                                   ask_after), with an updated REQUEST when their calendar is behind

The sweep that turns due rows into reminder.due is services/reminders/service.py fire_due (workers/sweeps.py).
A reminder mail re-reads everything when it leaves: the time and place as they are now, and nothing is sent when
the person cancelled or opted out, or the meeting was cancelled or has begun, since the row fired.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from schemas.events import (
    MeetingCancelled,
    MeetingPublished,
    MeetingUpdated,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationPromoted,
    ReminderDue,
)
from services.attendance.checkin import OPENS_BEFORE
from services.calendar import Attendee, render_imip
from services.invitations.compose import Action, Composed, compose_notice
from services.invitations.meeting import load
from services.invitations.messages import Strings
from services.participants import links as personal
from services.reminders import links, rules
from services.reminders import queries as q
from services.reminders import service as reminders
from workers.context import load_event, pool_of, settings_of
from workers.deliveries import Mail, send_once
from workers.jobs.invitation_batches import build_mail
from workers.jobs.participant_mail import _notice_message, _person, _personal
from workers.registry import job

# A meeting change that moves a reminder: its start, its zone (the local time of day), its rules or its series'.
_RETIMING_FIELDS = frozenset({"starts_at", "timezone", "reminders", "series_id"})


@job()
async def sync_reminders(ctx: dict[str, Any], outbox_id: int) -> None:
    payload = (await load_event(ctx, outbox_id)).payload
    registration_id = None
    if isinstance(payload, MeetingUpdated):
        if not any(change.field in _RETIMING_FIELDS for change in payload.changes):
            return
    elif isinstance(payload, RegistrationConfirmed | RegistrationPromoted | RegistrationCancelled):
        registration_id = payload.registration_id
    elif not isinstance(payload, MeetingPublished | MeetingCancelled):
        return
    async with pool_of(ctx).acquire() as conn, conn.transaction():
        await reminders.sync(conn, payload.meeting_id, registration_id=registration_id)


def _asks(found: q.Reminder) -> bool:
    """Whether this reminder is the "Kom je nog?" variant: its rule asks (ask_after), and the person registered (or
    last said yes) at least that long before the reminder's moment."""
    effective = rules.effective(found.meeting_rules, found.series_rules)
    rule = next((r for r in effective if rules.key(r) == found.rule), None)
    if rule is None or rule.ask_after is None:
        return False
    return found.registered_at <= found.due_at - rules.duration(rule.ask_after)


@job()
async def reminder_mail(ctx: dict[str, Any], outbox_id: int) -> None:
    payload = (await load_event(ctx, outbox_id)).payload
    if not isinstance(payload, ReminderDue):
        return
    settings = settings_of(ctx)
    key = f"reminder:{payload.reminder_id}"
    async with pool_of(ctx).acquire() as conn:
        found = await q.reminder(conn, payload.reminder_id)
        if found is None or found.status != "fired" or found.registration_status != "confirmed":
            return
        if found.registration_off or found.participant_off:
            return  # opted out after the row fired
        person = await _person(conn, found.participant_id)
        meeting = await load(conn, found.meeting_id, settings)
        if person is None or meeting is None or meeting.status != "published":
            return
        if meeting.starts_at <= datetime.now(UTC):
            return  # begun meanwhile: a reminder now would only be noise
        mine = await personal.for_mail(conn, settings, person.id, key)
        asking = _asks(found)
        # An updated REQUEST only when the calendar they hold is older than the meeting now (the update mail may
        # still be waiting, or never have reached them): otherwise a reminder does not touch their calendar.
        held = await q.held_sequence(conn, meeting.id, person.email)
        outdated = held is not None and held < meeting.sequence
    to = person.recipient()
    t = Strings(to.locale)
    base, secret, rid = settings.base_url, settings.secret_key, found.registration_id
    checkin = f"{base.rstrip('/')}/inchecken/{meeting.id}"
    ask = [Action(label=t.button_still_coming, url=links.still_coming_url(base, secret, rid))] if asking else []
    notice = compose_notice(
        "still_coming" if asking else "reminder",
        to,
        meeting=meeting.calendar,
        links=_personal(mine),
        actions=[
            *ask,
            Action(label=t.button_cant_come, url=links.cant_come_url(base, secret, rid), primary=False),
            Action(label=t.button_reminders_off_meeting, url=links.off_url(base, secret, rid, "deze"), primary=False),
            Action(label=t.button_reminders_off_all, url=links.off_url(base, secret, rid, "alle"), primary=False),
        ],
        facts={"checkin": checkin, "minutes": str(int(OPENS_BEFORE.total_seconds() // 60))},
        variant="updated" if outdated else "",
    )
    ics = (
        render_imip(
            meeting.calendar,
            method="REQUEST",
            attendees=[Attendee(email=to.email, name=to.name or to.email, partstat="ACCEPTED", rsvp=False)],
            dtstamp=datetime.now(UTC),
            labels=(t.join_online, t.more),
        )
        if outdated
        else None
    )

    def build(message_id: str) -> EmailMessage:
        if ics is None:
            return _notice_message(settings, notice, to, message_id)
        composed = Composed(subject=notice.subject, text=notice.text, html=notice.html, ics=ics, method="REQUEST")
        return build_mail(settings, composed, to, message_id)

    await send_once(
        ctx,
        Mail(
            key=key,
            kind="reminder_update" if outdated else "reminder",
            recipient=person.email,
            build=build,
            meeting_id=meeting.id,
            participant_id=person.id,
            sequence=meeting.sequence,
        ),
    )
