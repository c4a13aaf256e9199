"""Compose one person's invitation, confirmation, update or cancellation: subject, text, HTML and iMIP part.

Pure: the meeting, the recipient and the signed links come in, strings go out. The MIME envelope (headers,
multipart/alternative, the `method=` parameter) is the mailer's job; `Composed.method` tells it which method the
calendar part carries so the two can never disagree (CALENDAR-INTEROP C2).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import jinja2
import msgspec

from services.calendar import Attendee, CalendarMeeting, render_imip
from services.invitations.changes import ChangeLine
from services.invitations.messages import Kind, Locale, Strings, format_when

Method = Literal["REQUEST", "CANCEL"]
METHODS: dict[Kind, Method] = {
    "invitation": "REQUEST",
    "confirmation": "REQUEST",
    "update": "REQUEST",
    "cancellation": "CANCEL",
    "registration_cancelled": "CANCEL",
}
MAX_SUBJECT = 200
_HTTP = re.compile(r"https?://[^\s\"'<>]+")
# Everything a mail client or a header parser might take for a line end or a control: Cc (C0/C1 controls, DEL),
# the Unicode line and paragraph separators, and bidi overrides that could make a subject read differently.
_HEADER_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    name: str = ""
    locale: Locale = "nl"


class Links(msgspec.Struct, frozen=True, kw_only=True):
    register: str | None = None
    decline: str | None = None
    feed: str | None = None


class Composed(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    text: str
    html: str
    ics: str
    method: Method


def header_text(value: str, limit: int = MAX_SUBJECT) -> str:
    """One safe header line: no CR, LF or other controls (CALENDAR-INTEROP C8), whitespace collapsed, capped."""
    cleaned = " ".join(_HEADER_UNSAFE.sub(" ", unicodedata.normalize("NFC", value)).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def _http(value: str | None) -> str | None:
    # Only plain web links become href targets; anything else (javascript:, data:) is left out of the HTML.
    return value if value and _HTTP.fullmatch(value) else None


# One environment: HTML templates (*.html) are autoescaped, plain-text ones (*.txt) are not (they are no markup).
_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("services.invitations", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), disabled_extensions=("txt",), default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@functools.cache
def template(name: str) -> jinja2.Template:
    return _ENVIRONMENT.get_template(name)


def _text_body(text: str) -> str:
    # Collapse the blank-line runs that optional template blocks leave behind; mail text wants at most one.
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _links_for(links: Links, method: Method, registered: bool) -> Links:
    if method == "CANCEL":
        return Links(feed=links.feed)  # nothing left to answer once the meeting leaves the calendar
    if registered:
        return Links(decline=links.decline, feed=links.feed)
    return links


def subject_for(kind: Kind, title: str, locale: Locale) -> str:
    return header_text(Strings(locale).get(f"subject_{kind}", title=header_text(title)))


def compose(
    kind: Kind,
    meeting: CalendarMeeting,
    recipient: Recipient,
    *,
    links: Links,
    now: datetime,
    changes: Sequence[ChangeLine] = (),
    note: str = "",
    reason: str = "",
    registered: bool = False,
) -> Composed:
    """Render all parts for one recipient. Raises ValueError when the calendar part cannot be rendered safely.

    `registered` people (and every confirmation) get "cancel my registration" instead of register/decline.
    """
    registered = registered or kind == "confirmation"
    t = Strings(recipient.locale)
    method = METHODS[kind]
    organiser = header_text(meeting.organizer_name) or "Leerkring"
    name = header_text(recipient.name, 120)
    context = {
        "t": t,
        "kind": kind,
        "meeting": meeting,
        "subject": subject_for(kind, meeting.title, recipient.locale),
        "greeting": t.get("greeting", name=name) if name else t.greeting_anonymous,
        "intro": t.get(f"intro_{kind}", organiser=organiser) if kind == "invitation" else t.get(f"intro_{kind}"),
        "when": format_when(meeting.starts_at, meeting.ends_at, meeting.timezone, recipient.locale),
        "changes": list(changes),
        "note": note.strip(),
        "reason": reason.strip(),
        "links": _links_for(links, method, registered),
        "actions": t.actions_confirmation if registered else t.actions_invitation,
        "decline_label": t.cancel_registration if registered else t.decline,
        "online_href": _http(meeting.online_url),
        "page_href": _http(meeting.url),
        "calendar_hint": method == "REQUEST",
        "footer": t.get("footer", organiser=organiser),
    }
    attendee = Attendee(email=recipient.email, name=name or recipient.email)
    # Each message gets its own DTSTAMP (the send time), always newer than any earlier message (A9).
    ics = render_imip(meeting, method=method, attendees=[attendee], dtstamp=now)
    return Composed(
        subject=str(context["subject"]),
        text=_text_body(template("mail.txt").render(context)),
        html=template("mail.html").render(context),
        ics=ics,
        method=method,
    )
