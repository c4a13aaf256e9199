"""VEVENTs, subscription feeds and iMIP calendars as strings joined by hand (python-icalendar costs ~10x).

Feeds are the hot path: a feed is a precomputed header (calendar properties and VTIMEZONEs) followed by VEVENT
fragments that callers may cache per meeting revision, since a fragment depends only on the meeting.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal

import msgspec

from services.calendar.model import Attendee, CalendarMeeting
from services.calendar.text import CRLF, check_value, content_line, escape_text
from services.calendar.timezones import vtimezone, zone

PRODID = "-//VNG//Leerkring//NL"
FEED_TIMEZONE = "Europe/Amsterdam"
CANCELLED_PREFIX = "Geannuleerd: "
# People read these, so Dutch (CONVENTIONS); they move to the gettext catalogs once those exist.
LABEL_ONLINE = "Online deelnemen"
LABEL_MORE = "Meer informatie"

_END_CALENDAR = f"END:VCALENDAR{CRLF}"
_END_CALENDAR_BYTES = _END_CALENDAR.encode()
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")

Method = Literal["REQUEST", "CANCEL"]


def _uri(value: str) -> str:
    if not _URI.fullmatch(check_value(value)):
        raise ValueError(f"not an absolute URI: {value!r}")
    return value


def _mailto(email: str) -> str:
    if not _EMAIL.fullmatch(check_value(email)):
        raise ValueError(f"not an e-mail address: {email!r}")
    return f"mailto:{email}"


def _utc(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _when(name: str, value: datetime, tzid: str) -> str:
    local = value.astimezone(zone(tzid))
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        # The second pass through a repeated hour (autumn, 02:00-03:00) cannot be written as local time: RFC 5545
        # 3.3.5 reads an ambiguous local time as the first pass, so this one instant goes out in UTC.
        return content_line(name, _utc(value))
    return content_line(name, local.strftime("%Y%m%dT%H%M%S"), {"TZID": tzid})


def _description(m: CalendarMeeting, labels: tuple[str, str] = (LABEL_ONLINE, LABEL_MORE)) -> str:
    """The meeting's description and its links; `labels`: the words before the online link and the page's, in the
    reader's language (an iMIP part of an English mail)."""
    online, more = labels
    links = []
    if m.online_url:
        links.append(f"{online}: {_uri(m.online_url)}")
    if m.url:
        links.append(f"{more}: {_uri(m.url)}")
    return "\n\n".join(part for part in (m.description, "\n".join(links)) if part)


def _category(name: str) -> str:
    # RFC 5545 allows "\," inside a category, but the strict `ical` parser splits on it anyway (A16: parse the same
    # everywhere), so a comma within one tag becomes a space; whitespace runs collapse as befits a tag.
    return escape_text(" ".join(name.replace(",", " ").split()))


def _attendee(a: Attendee) -> str:
    params = {
        "CUTYPE": "INDIVIDUAL",
        "ROLE": "REQ-PARTICIPANT",
        "PARTSTAT": a.partstat,
        "RSVP": "TRUE" if a.rsvp else "FALSE",
        "CN": a.name,
    }
    return content_line("ATTENDEE", _mailto(a.email), params)


def _vevent(
    m: CalendarMeeting,
    *,
    dtstamp: datetime,
    summary: str,
    cancelled: bool,
    transparent: bool,
    attendees: Sequence[Attendee],
    labels: tuple[str, str] = (LABEL_ONLINE, LABEL_MORE),
) -> str:
    if not m.uid:
        raise ValueError("uid must not be empty")
    description = _description(m, labels)
    categories = ",".join(_category(c) for c in m.categories if c.strip())
    lines = [
        "BEGIN:VEVENT\r\n",
        content_line("UID", check_value(m.uid)),
        content_line("DTSTAMP", _utc(dtstamp)),
        _when("DTSTART", m.starts_at, m.timezone),
        _when("DTEND", m.ends_at, m.timezone),
        f"SEQUENCE:{m.sequence}\r\n",
        content_line("SUMMARY", escape_text(summary)),
        content_line("DESCRIPTION", escape_text(description)) if description else "",
        content_line("LOCATION", escape_text(m.location)) if m.location else "",
        content_line("URL", _uri(m.url)) if m.url else "",
        "STATUS:CANCELLED\r\n" if cancelled else "STATUS:CONFIRMED\r\n",
        "TRANSP:TRANSPARENT\r\n" if transparent else "TRANSP:OPAQUE\r\n",
        content_line("CATEGORIES", categories) if categories else "",
        content_line("ORGANIZER", _mailto(m.organizer_email), {"CN": m.organizer_name}),
        *(_attendee(a) for a in attendees),
        content_line("LAST-MODIFIED", _utc(m.dtstamp)),
        "END:VEVENT\r\n",
    ]
    return "".join(lines)


def render_vevent(
    m: CalendarMeeting,
    *,
    for_feed: bool,
    attendees: Sequence[Attendee] = (),
    transparent_when_cancelled: bool = True,
) -> str:
    """Render one folded CRLF VEVENT, byte-stable for an unchanged meeting; raises ValueError on invalid values.

    In a feed a cancelled meeting gets a visible prefix because Outlook ignores STATUS (CALENDAR-INTEROP B8).
    """
    cancelled = m.status == "cancelled"
    return _vevent(
        m,
        dtstamp=m.dtstamp,
        summary=CANCELLED_PREFIX + m.title if for_feed and cancelled else m.title,
        cancelled=cancelled,
        transparent=cancelled and transparent_when_cancelled,
        attendees=attendees,
    )


class FeedHeader(msgspec.Struct, frozen=True, kw_only=True):
    """Everything of a feed before its first VEVENT, as text and as UTF-8."""

    text: str
    data: bytes


@functools.lru_cache(maxsize=1024)
def _feed_header(name: str, tzids: tuple[str, ...], description: str | None) -> FeedHeader:
    # Calendar properties strictly before any component: Outlook ignores those that follow one (A5).
    lines = [
        "BEGIN:VCALENDAR\r\n",
        "VERSION:2.0\r\n",
        content_line("PRODID", PRODID),
        "CALSCALE:GREGORIAN\r\n",
        "METHOD:PUBLISH\r\n",
        content_line("X-WR-CALNAME", escape_text(name)),
        content_line("NAME", escape_text(name)),
    ]
    if description:
        lines += [
            content_line("X-WR-CALDESC", escape_text(description)),
            content_line("DESCRIPTION", escape_text(description)),
        ]
    lines += [
        content_line("X-WR-TIMEZONE", FEED_TIMEZONE),
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n",
        "X-PUBLISHED-TTL:PT1H\r\n",
        *(vtimezone(tzid) for tzid in tzids),
    ]
    text = "".join(lines)
    return FeedHeader(text=text, data=text.encode())


def feed_header(name: str, tzids: Iterable[str], *, description: str | None = None) -> FeedHeader:
    """Build (or fetch from cache) a feed header with one VTIMEZONE per distinct tzid; raises ValueError."""
    return _feed_header(name, tuple(sorted(set(tzids))), description)


def assemble(header: FeedHeader, fragments: Iterable[str | bytes]) -> bytes:
    """Join a header and VEVENT fragments, taken verbatim, into the UTF-8 body of a feed."""
    parts = [header.data]
    parts.extend(f if isinstance(f, bytes) else f.encode() for f in fragments)
    parts.append(_END_CALENDAR_BYTES)
    return b"".join(parts)


def render_feed(name: str, fragments: Iterable[str], tzids: Iterable[str], *, description: str | None = None) -> str:
    """Render a METHOD:PUBLISH subscription feed around VEVENT fragments; raises ValueError on an unknown tzid."""
    header = feed_header(name, tzids, description=description)
    return "".join([header.text, *fragments, _END_CALENDAR])


def render_imip(
    m: CalendarMeeting,
    *,
    method: Method,
    attendees: Sequence[Attendee],
    dtstamp: datetime,
    labels: tuple[str, str] = (LABEL_ONLINE, LABEL_MORE),
) -> str:
    """Render the text/calendar part of an invitation, update (REQUEST) or cancellation (CANCEL) e-mail.

    dtstamp is the send time; `labels` the description's words for the online link and the meeting's page, in the
    mail's language (Dutch by default). Raises ValueError without attendees (Outlook and Gmail then see a plain
    attachment, C4), for a REQUEST of a cancelled meeting (clients keep the event, C3), or for a naive dtstamp.
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {method!r}")
    if not attendees:
        raise ValueError("an iMIP message needs at least one attendee")
    if method == "REQUEST" and m.status == "cancelled":
        raise ValueError("a cancelled meeting goes out as METHOD:CANCEL, not REQUEST")
    cancelled = method == "CANCEL"
    event = _vevent(
        m,
        dtstamp=dtstamp,
        summary=m.title,
        cancelled=cancelled,
        transparent=cancelled,
        attendees=attendees,
        labels=labels,
    )
    lines = [
        "BEGIN:VCALENDAR\r\n",
        "VERSION:2.0\r\n",
        content_line("PRODID", PRODID),
        "CALSCALE:GREGORIAN\r\n",
        f"METHOD:{method}\r\n",
        vtimezone(m.timezone),
        event,
        _END_CALENDAR,
    ]
    return "".join(lines)
