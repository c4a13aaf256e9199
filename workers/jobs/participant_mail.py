"""Mails to a participant about their own place, each exactly once (workers.deliveries.send_once):

    participant.link_requested  -> signin_mail: a single-use sign-in link to their personal page
    registration.requested      -> registration_request_mail: the link that confirms a registration (double opt-in)
    registration.confirmed      -> registration_mail: confirmation with the calendar REQUEST (PARTSTAT=ACCEPTED)
    registration.waitlisted     -> registration_mail: their place in line and what happens next
    registration.promoted       -> registration_mail: promoted (REQUEST) or a seat on offer, with accept/decline
    registration.cancelled      -> registration_mail: cancelled by them or the organiser, or released as a no-show
                                   (CANCEL), offer expired or declined (plain)

Every mail but the sign-in carries the person's manage link and calendar-feed link. Which mail an event asks for
is services/registrations/notices.py; the job re-reads the registration and sends only if it still stands so.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import msgspec

from schemas.events import ParticipantLinkRequested, RegistrationRequested
from services.dates import moment
from services.db import Connection
from services.invitations.compose import Action, Links, Notice, Recipient, compose, compose_notice
from services.invitations.meeting import MailMeeting, load
from services.invitations.messages import Strings, pick_locale
from services.invitations.mime import notice_message
from services.mail.message import build_message
from services.participants import links as personal
from services.registrations import notices, offers
from services.registrations import queries as rq
from services.reminders.links import cant_come_url
from services.settings import Settings
from workers.context import load_event, pool_of, settings_of
from workers.deliveries import Mail, send_once
from workers.jobs.invitation_batches import build_mail
from workers.registry import job

log = logging.getLogger(__name__)


class Person(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    name: str
    locale: str
    proven: bool

    def recipient(self) -> Recipient:
        # An unproven participant's name was typed by whoever asked, not necessarily by them: greet neutrally.
        return Recipient(email=self.email, name=self.name if self.proven else "", locale=pick_locale(self.locale))


async def _person(conn: Connection, participant_id: UUID) -> Person | None:
    row = await conn.fetchrow(
        "SELECT id, email, name, locale, verified_at IS NOT NULL AS proven FROM participants "
        "WHERE id = $1 AND erased_at IS NULL",
        participant_id,
    )
    return None if row is None else Person(**dict(row))


def _notice_message(settings: Settings, notice: Notice, to: Recipient, message_id: str) -> EmailMessage:
    """Pre-encoded for plain ASCII addresses (services/invitations/mime.py: a fraction of the email package's CPU,
    which matters for mails sent in blocks), the general builder for the rest (SMTPUTF8 addresses)."""
    try:
        return notice_message(
            sender=settings.mail_from, to_name=to.name, to_email=to.email, subject=notice.subject, text=notice.text,
            html=notice.html, message_id=message_id,
        )  # fmt: skip
    except ValueError:
        pass
    return build_message(
        sender=settings.mail_from,
        to=(to.name, to.email),
        subject=notice.subject,
        text=notice.text,
        html=notice.html,
        message_id=message_id,
    )


def _personal(found: personal.PersonalLinks) -> Links:
    return Links(manage=found.manage, feed=found.feed, feed_webcal=found.feed_webcal)


@job()
async def signin_mail(ctx: dict[str, Any], outbox_id: int) -> None:
    event = await load_event(ctx, outbox_id)
    if not isinstance(event.payload, ParticipantLinkRequested):
        return
    settings = settings_of(ctx)
    async with pool_of(ctx).acquire() as conn:
        person = await _person(conn, event.payload.participant_id)
        if person is None:
            return
        url, expires_at = await personal.signin_link(
            conn, settings, person.id, str(event.id), asked_at=event.occurred_at, next_path=event.payload.next_path
        )
    if expires_at <= datetime.now(UTC):
        log.info("sign-in request %s is older than its link would live; not sent", event.id)
        return
    to = person.recipient()
    t = Strings(to.locale)
    notice = compose_notice(
        "signin",
        to,
        meeting=None,
        links=Links(),
        actions=[Action(label=t.button_signin, url=url)],
        facts={"deadline": moment(expires_at, locale=to.locale)},
    )
    await send_once(
        ctx,
        Mail(
            key=f"signin:{event.id}",
            kind="signin",
            recipient=person.email,
            build=lambda message_id: _notice_message(settings, notice, to, message_id),
            participant_id=person.id,
        ),
    )


@job()
async def registration_request_mail(ctx: dict[str, Any], outbox_id: int) -> None:
    event = await load_event(ctx, outbox_id)
    payload = event.payload
    if not isinstance(payload, RegistrationRequested):
        return
    settings = settings_of(ctx)
    key = f"request_confirm:{event.id}"
    async with pool_of(ctx).acquire() as conn:
        request = await conn.fetchrow(
            "SELECT expires_at, confirmed_at FROM registration_requests WHERE id = $1", payload.request_id
        )
        person = await _person(conn, payload.participant_id)
        meeting = await load(conn, payload.meeting_id, settings)
        if request is None or request["confirmed_at"] is not None or person is None or meeting is None:
            return
        if request["expires_at"] <= datetime.now(UTC) or meeting.status != "published":
            return
        found = await personal.for_mail(conn, settings, person.id, key)
    to = person.recipient()
    t = Strings(to.locale)
    url = personal.confirm_url(settings, personal.confirm_token(settings, payload.request_id))
    notice = compose_notice(
        "request_confirm",
        to,
        meeting=meeting.calendar,
        links=_personal(found),
        actions=[Action(label=t.button_request_confirm, url=url)],
        facts={"deadline": moment(request["expires_at"], meeting.calendar.timezone, to.locale)},
    )
    await send_once(
        ctx,
        Mail(
            key=key,
            kind="request_confirm",
            recipient=person.email,
            build=lambda message_id: _notice_message(settings, notice, to, message_id),
            meeting_id=meeting.id,
            participant_id=person.id,
        ),
    )


class _Place(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    participant_id: UUID
    meeting_id: UUID
    offer_expires_at: datetime | None
    rank: int | None
    waitlist_mode: str
    offer_hours: int


async def _place(conn: Connection, registration_id: UUID) -> _Place | None:
    row = await conn.fetchrow(
        """
        SELECT r.status, r.participant_id, r.meeting_id, r.offer_expires_at, r.position, m.waitlist_mode, m.offer_hours
        FROM registrations r JOIN meetings m ON m.id = r.meeting_id WHERE r.id = $1
        """,
        registration_id,
    )
    if row is None:
        return None
    rank = await rq.waitlist_rank(conn, row["meeting_id"], row["position"]) if row["status"] == "waitlisted" else None
    return _Place(
        status=row["status"],
        participant_id=row["participant_id"],
        meeting_id=row["meeting_id"],
        offer_expires_at=row["offer_expires_at"],
        rank=rank,
        waitlist_mode=row["waitlist_mode"],
        offer_hours=row["offer_hours"],
    )


@job()
async def registration_mail(ctx: dict[str, Any], outbox_id: int) -> None:
    """The mail for a change to one registration (see services/registrations/notices.py)."""
    event = await load_event(ctx, outbox_id)
    plan = notices.plan(event.payload)
    if plan is None:
        return
    settings = settings_of(ctx)
    async with pool_of(ctx).acquire() as conn:
        place = await _place(conn, plan.registration_id)
        person = await _person(conn, place.participant_id) if place is not None else None
        meeting = await load(conn, place.meeting_id, settings) if place is not None else None
        if place is None or person is None or meeting is None or not notices.still_applies(plan.expect, place.status):
            return
        if meeting.status != "published" or meeting.ends_at <= datetime.now(UTC):
            return  # a cancelled meeting's batch tells everyone; after the end nothing is worth saying
        found = await personal.for_mail(conn, settings, person.id, plan.key)
    build = _builder(settings, plan, place, person, meeting, _personal(found))
    await send_once(
        ctx,
        Mail(
            key=plan.key,
            kind=plan.delivery_kind,
            recipient=person.email,
            build=build,
            meeting_id=meeting.id,
            participant_id=person.id,
            sequence=meeting.sequence,
        ),
    )


def _builder(
    settings: Settings, plan: notices.Plan, place: _Place, person: Person, meeting: MailMeeting, mine: Links
) -> Any:
    """The function that builds this plan's message for a Message-ID."""
    to = person.recipient()
    t = Strings(to.locale)
    zone = meeting.calendar.timezone
    if plan.template in notices.CALENDAR_KINDS:
        kind = plan.template
        # The way out names the registration, never the address (the reminders' "ik kan toch niet" page).
        cancel_link = cant_come_url(settings.base_url, settings.secret_key, plan.registration_id)
        mail_links = msgspec.structs.replace(
            mine, decline=cancel_link if kind in ("confirmation", "promoted") else None
        )

        def build_calendar(message_id: str) -> EmailMessage:
            composed = compose(
                kind,  # type: ignore[arg-type]
                meeting.calendar,
                to,
                links=mail_links,
                now=datetime.now(UTC),
                rsvp=bool(settings.reply_address),
            )
            return build_mail(settings, composed, to, message_id)

        return build_calendar
    actions: list[Action] = []
    facts: dict[str, str] = {}
    variant = ""
    if plan.template == "waitlisted":
        facts["position"] = str(place.rank) if place.rank else t.position_unknown
        variant, facts["hours"] = place.waitlist_mode, str(place.offer_hours)
    elif plan.template == "offered" and place.offer_expires_at is not None:
        facts["deadline"] = moment(place.offer_expires_at, zone, to.locale)
        urls = offers.offer_links(settings.base_url, settings.secret_key, plan.registration_id)
        actions = [
            Action(label=t.button_accept_offer, url=urls["accept"]),
            Action(label=t.button_decline_offer, url=urls["decline"], primary=False),
        ]
    notice = compose_notice(
        plan.template,  # type: ignore[arg-type]
        to,
        meeting=meeting.calendar,
        links=mine,
        actions=actions,
        facts=facts,
        variant=variant,
    )
    return lambda message_id: _notice_message(settings, notice, to, message_id)
