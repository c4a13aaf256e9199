"""iTIP replies (RFC 5546 METHOD:REPLY): what an invitee's calendar answered, recorded as their response.

When someone presses Yes/No/Maybe in Outlook, Gmail or Apple Calendar, their client mails a REPLY to the ORGANIZER
address. A mail gateway (or whatever reads that mailbox) posts each such message here. Mail is easy to forge, so a
reply is only *recorded* (it informs the organiser and stops "resend to those who did not respond"); it never
registers anyone or gives a seat away; those need the signed links, which prove the mailbox.
"""

from __future__ import annotations

import email
import email.policy
from typing import Literal
from uuid import UUID

import icalendar
import msgspec

from services.calendar.uid import UID_DOMAIN
from services.db import Connection
from services.errors import DomainError, InvalidInput, NotFound

PartStat = Literal["ACCEPTED", "DECLINED", "TENTATIVE"]
RESPONSES: dict[str, str] = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}
MAX_REPLY_BYTES = 1_000_000


class ReplyRecorded(msgspec.Struct, kw_only=True):
    meeting_id: UUID
    email: str
    partstat: PartStat
    response: str


def calendar_text(body: bytes, content_type: str) -> str:
    """The iCalendar text of a posted reply: a whole mail (its text/calendar part) or the calendar itself.

    Raises InvalidInput when there is none.
    """
    if content_type.startswith("text/calendar"):
        return body.decode("utf-8", "replace")
    message = email.message_from_bytes(body, policy=email.policy.default)
    for part in message.walk():
        if part.get_content_type() in ("text/calendar", "application/ics"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    raise InvalidInput("Geen iCalendar-deel (text/calendar) in dit bericht gevonden", field="body")


def _meeting_id(uid: str) -> UUID:
    local, _, domain = uid.partition("@")
    try:
        if domain != UID_DOMAIN:
            raise ValueError(domain)
        return UUID(local)
    except ValueError:
        raise NotFound("Dit antwoord hoort niet bij een bijeenkomst van Leerkring") from None


def parse_reply(text: str) -> tuple[UUID, str, PartStat]:
    """(meeting, attendee address, PARTSTAT) of a REPLY. Raises DomainError (400) for unreadable iCalendar text,
    InvalidInput for anything else, NotFound for a UID that is not one of ours."""
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError:
        # A syntax error: 400, as the NLGov API Design Rules want for unreadable input (/core/error-handling).
        raise DomainError("Het iCalendar-deel kan niet worden gelezen", field="body") from None
    if str(calendar.get("METHOD", "")).upper() != "REPLY":
        raise InvalidInput("Alleen METHOD:REPLY wordt hier verwerkt", field="METHOD")
    events = calendar.walk("VEVENT")
    if len(events) != 1:
        raise InvalidInput("Een antwoord bevat precies één VEVENT", field="VEVENT")
    event = events[0]
    attendees = event.get("ATTENDEE")
    if attendees is None or isinstance(attendees, list):
        raise InvalidInput("Een antwoord noemt precies één ATTENDEE", field="ATTENDEE")
    address = str(attendees).removeprefix("mailto:").removeprefix("MAILTO:").strip().lower()
    partstat = str(attendees.params.get("PARTSTAT", "")).upper()
    if partstat not in RESPONSES or "@" not in address:
        raise InvalidInput("ATTENDEE zonder bruikbaar adres of PARTSTAT", field="ATTENDEE")
    return _meeting_id(str(event.get("UID", ""))), address, partstat  # type: ignore[return-value]


async def record(conn: Connection, body: bytes, content_type: str) -> ReplyRecorded:
    """Record the PARTSTAT of a posted REPLY. Raises InvalidInput, NotFound (unknown meeting, or an address we
    never sent this meeting to)."""
    meeting_id, address, partstat = parse_reply(calendar_text(body, content_type))
    invited = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM deliveries WHERE meeting_id = $1 AND recipient = $2 AND status = 'sent')",
        meeting_id,
        address,
    )
    if not invited:
        raise NotFound("Dit adres heeft voor deze bijeenkomst geen uitnodiging van ons gekregen")
    response = RESPONSES[partstat]
    # A link answer ("registered") says more than a calendar button and is not overwritten by one.
    await conn.execute(
        """
        INSERT INTO invitation_responses (meeting_id, email, response, source) VALUES ($1, $2, $3, 'itip')
        ON CONFLICT (meeting_id, email) DO UPDATE SET response = excluded.response, source = 'itip',
            responded_at = now()
        WHERE invitation_responses.response <> 'registered'
        """,
        meeting_id,
        address,
        response,
    )
    return ReplyRecorded(meeting_id=meeting_id, email=address, partstat=partstat, response=response)
