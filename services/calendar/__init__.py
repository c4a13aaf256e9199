"""Pure iCalendar rendering for subscription feeds (RFC 5545/7986) and iMIP e-mail (RFC 6047/5546).

No I/O here: callers pass meetings in and get text or bytes back. /work/shared/CALENDAR-INTEROP.md is the
checklist these modules follow; its rule numbers (A1, B8, C3, ...) appear in the comments.
"""

from services.calendar.model import Attendee, CalendarMeeting
from services.calendar.render import (
    CANCELLED_PREFIX,
    PRODID,
    FeedHeader,
    assemble,
    feed_header,
    render_feed,
    render_imip,
    render_vevent,
)
from services.calendar.text import check_value, content_line, escape_text, fold, quote_param
from services.calendar.timezones import vtimezone
from services.calendar.uid import meeting_uid

__all__ = [
    "CANCELLED_PREFIX",
    "PRODID",
    "Attendee",
    "CalendarMeeting",
    "FeedHeader",
    "assemble",
    "check_value",
    "content_line",
    "escape_text",
    "feed_header",
    "fold",
    "meeting_uid",
    "quote_param",
    "render_feed",
    "render_imip",
    "render_vevent",
    "vtimezone",
]
