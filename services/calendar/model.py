"""What the calendar renderers need to know about a meeting, detached from the database rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import msgspec

from services.calendar.timezones import zone

MeetingStatus = Literal["confirmed", "cancelled"]
PartStat = Literal["NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE", "DELEGATED"]

# CALENDAR-INTEROP A12 asks for a sane length; a peer-learning meeting never spans more than a couple of days.
MAX_DURATION = timedelta(days=14)


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


class CalendarMeeting(msgspec.Struct, frozen=True, kw_only=True):
    """One meeting as calendars see it; uid and sequence come from the database and are never made up here.

    Raises ValueError (msgspec.ValidationError when decoded) for naive datetimes, an end not after the start,
    a meeting longer than MAX_DURATION, a negative sequence or an unknown time zone.
    """

    uid: str
    sequence: int
    dtstamp: datetime  # last revision of the meeting, so an unchanged feed renders byte-identical (B4)
    starts_at: datetime
    ends_at: datetime
    timezone: str  # IANA name; times are written in this zone with its VTIMEZONE
    title: str
    description: str = ""
    location: str | None = None
    url: str | None = None  # the meeting's page on our site
    online_url: str | None = None
    status: MeetingStatus = "confirmed"
    organizer_name: str
    organizer_email: str
    categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("dtstamp", "starts_at", "ends_at"):
            _require_aware(name, getattr(self, name))
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.ends_at - self.starts_at > MAX_DURATION:
            raise ValueError(f"meeting is longer than {MAX_DURATION}")
        if self.sequence < 0:
            raise ValueError("sequence must not be negative")
        zone(self.timezone)  # an unknown zone fails at the boundary, not halfway through a feed


class Attendee(msgspec.Struct, frozen=True, kw_only=True):
    """An invitee in an iMIP message."""

    email: str
    name: str
    partstat: PartStat = "NEEDS-ACTION"
    rsvp: bool = True
