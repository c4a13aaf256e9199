"""A meeting as invitation mails see it: exactly the calendar view the feeds publish, plus its placement.

The feeds package owns how a meeting becomes a CalendarMeeting (UID, location, URL, organiser, categories); mails
reuse it so that an invitation, an update and a feed entry of the same meeting can never disagree (A7).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from services.calendar import CalendarMeeting
from services.db import Connection
from services.feeds.fragments import organizer_email, to_calendar_meeting
from services.feeds.queries import MeetingSource, meeting_source
from services.invitations.changes import Placement
from services.settings import Settings


class MailMeeting(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    status: str  # as stored: draft, published, cancelled
    sequence: int
    starts_at: datetime
    ends_at: datetime
    calendar: CalendarMeeting
    placement: Placement


def to_mail_meeting(src: MeetingSource, settings: Settings) -> MailMeeting:
    calendar = to_calendar_meeting(src, base_url=settings.base_url, organizer=organizer_email(settings))
    placement = Placement(
        starts_at=src.starts_at,
        ends_at=src.ends_at,
        timezone=src.timezone,
        venue_name=src.venue_name,
        venue_address=src.venue_address,
        venue_city=src.venue_city,
        online_url=src.online_url,
    )
    return MailMeeting(
        id=src.id,
        status=src.status,
        sequence=src.sequence,
        starts_at=src.starts_at,
        ends_at=src.ends_at,
        calendar=calendar,
        placement=placement,
    )


async def load(conn: Connection, meeting_id: UUID, settings: Settings) -> MailMeeting | None:
    src = await meeting_source(conn, meeting_id)
    return None if src is None else to_mail_meeting(src, settings)
