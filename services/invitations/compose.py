"""Compose one person's mail: calendar mails (invitation, confirmation, update, cancellation: subject, text, HTML
and iMIP part) and notices about their place (waiting list, offers, confirmation and sign-in links: no iMIP).

Pure: the meeting, the recipient and the links come in, strings go out. The MIME envelope (headers,
multipart/alternative, the `method=` parameter) is the mailer's job; `Composed.method` tells it which method the
calendar part carries so the two can never disagree (CALENDAR-INTEROP C2). Every mail to a known participant
carries their personal links (manage page, calendar feed) when the caller passes them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import jinja2
import msgspec

from services.calendar import Attendee, CalendarMeeting, render_imip
from services.dates import format_when
from services.invitations.changes import ChangeLine
from services.invitations.messages import Kind, Locale, NoticeKind, Strings
from services.mail import headers

Method = Literal["REQUEST", "CANCEL"]
METHODS: dict[Kind, Method] = {
    "invitation": "REQUEST",
    "confirmation": "REQUEST",
    "promoted": "REQUEST",
    "update": "REQUEST",
    "cancellation": "CANCEL",
    "registration_cancelled": "CANCEL",
    "no_show_released": "CANCEL",
}
# A REQUEST that tells the calendar the person is coming (their own registration), not asking whether they are.
_ACCEPTED: frozenset[Kind] = frozenset({"confirmation", "promoted"})
# Notices that go to someone holding a seat, and so may carry the meeting's online link.
_SEATED_NOTICES: frozenset[NoticeKind] = frozenset({"reminder"})
MAX_SUBJECT = 200
_HTTP = re.compile(r"https?://[^\s\"'<>]+")


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    name: str = ""
    locale: Locale = "nl"


class Links(msgspec.Struct, frozen=True, kw_only=True):
    register: str | None = None
    decline: str | None = None
    # The participant's own links (services/participants/links.py): manage page and calendar feed.
    manage: str | None = None
    feed: str | None = None
    feed_webcal: str | None = None


class Action(msgspec.Struct, frozen=True, kw_only=True):
    """A button in the mail (a link in the text part); the first primary one is the main thing to do."""

    label: str
    url: str
    primary: bool = True


class Composed(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    text: str
    html: str
    ics: str
    method: Method


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    text: str
    html: str


def header_text(value: str, limit: int = MAX_SUBJECT) -> str:
    """One safe header line (services/mail/headers.py), at most a subject's length by default."""
    return headers.header_text(value, limit)


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


def _actions(kind: Kind, links: Links, t: Strings, registered: bool) -> tuple[str, list[Action]]:
    """The buttons of a calendar mail and the line above them."""
    if METHODS[kind] == "CANCEL":
        return "", []  # nothing left to answer once the meeting leaves the calendar
    if registered and links.decline:
        return t.actions_confirmation, [Action(label=t.cancel_registration, url=links.decline, primary=False)]
    actions = [Action(label=t.register, url=links.register)] if links.register else []
    if links.decline:
        actions.append(Action(label=t.decline, url=links.decline, primary=False))
    return (t.actions_invitation if actions else ""), actions


def subject_for(kind: Kind | NoticeKind, title: str, locale: Locale) -> str:
    return header_text(Strings(locale).get(f"subject_{kind}", title=header_text(title)))


def _context(
    kind: Kind | NoticeKind, meeting: CalendarMeeting | None, recipient: Recipient, *, links: Links
) -> dict[str, object]:
    """What every mail template sees: greeting, the meeting (if any), the personal links, the footer."""
    t = Strings(recipient.locale)
    organiser = header_text(meeting.organizer_name) if meeting is not None else ""
    name = header_text(recipient.name, 120)
    return {
        "t": t,
        "kind": kind,
        "meeting": meeting,
        "subject": subject_for(kind, meeting.title if meeting else "", recipient.locale),
        "greeting": t.get("greeting", name=name) if name else t.greeting_anonymous,
        "when": format_when(meeting.starts_at, meeting.ends_at, meeting.timezone, recipient.locale) if meeting else "",
        "changes": [],
        "note": "",
        "reason": "",
        "intro": "",
        "next": "",
        "actions_intro": "",
        "actions": [],
        "links_expire": False,
        "links": links,
        "personal": bool(links.manage or links.feed),
        "online_href": _http(meeting.online_url) if meeting else None,
        "page_href": _http(meeting.url) if meeting else None,
        "calendar_hint": False,
        "rsvp_hint": False,
        "footer": t.get("footer", organiser=organiser or "Leerkring"),
    }


def _render(context: dict[str, object]) -> tuple[str, str]:
    return _text_body(template("mail.txt").render(context)), template("mail.html").render(context)


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
    seated: bool | None = None,
    rsvp: bool = True,
) -> Composed:
    """Render all parts of a calendar mail for one recipient. Raises ValueError when the calendar part cannot be
    rendered safely.

    `registered` people (and every confirmation) get "cancel my registration" instead of register/decline; the
    `seated` among them (default: all registered; not the waiting list or an open offer) alone get the online link
    (in the text, the HTML and the calendar part) and its changes.
    The seated are ACCEPTED in the calendar part (RSVP=FALSE), in a confirmation and in an update alike.
    `rsvp`: whether calendar programs may answer (an inbound reply address is configured); without it the
    invitation says RSVP=FALSE and points to the buttons instead.
    """
    registered = registered or kind in _ACCEPTED
    seated = kind in _ACCEPTED or (registered if seated is None else seated)
    if not seated:
        # An invitation is forwarded, printed, shared: the online link is only for those with a seat.
        meeting = msgspec.structs.replace(meeting, online_url=None)
        changes = [c for c in changes if not c.confidential]
    t = Strings(recipient.locale)
    method = METHODS[kind]
    organiser = header_text(meeting.organizer_name) or "Leerkring"
    context = _context(kind, meeting, recipient, links=links)
    actions_intro, actions = _actions(kind, links, t, registered)
    context.update(
        intro=t.get(f"intro_{kind}", organiser=organiser) if kind == "invitation" else t.get(f"intro_{kind}"),
        changes=list(changes),
        note=note.strip(),
        reason=reason.strip(),
        actions_intro=actions_intro,
        actions=actions,
        links_expire=bool(actions),
        calendar_hint=method == "REQUEST",
        rsvp_hint=method == "REQUEST" and not rsvp and not registered,
    )
    name = header_text(recipient.name, 120)
    # Someone with a seat is coming, and their update says so too: a REQUEST that says NEEDS-ACTION asks them to
    # answer again and sets the event they accepted back to "not answered" in their calendar.
    accepted = method == "REQUEST" and seated
    attendee = Attendee(
        email=recipient.email,
        name=name or recipient.email,
        partstat="ACCEPTED" if accepted else "NEEDS-ACTION",
        rsvp=rsvp and not accepted,
    )
    # Each message gets its own DTSTAMP (the send time), always newer than any earlier message (A9).
    ics = render_imip(meeting, method=method, attendees=[attendee], dtstamp=now, labels=(t.join_online, t.more))
    text, html = _render(context)
    return Composed(subject=str(context["subject"]), text=text, html=html, ics=ics, method=method)


def compose_notice(
    kind: NoticeKind,
    recipient: Recipient,
    *,
    meeting: CalendarMeeting | None,
    links: Links,
    actions: Sequence[Action] = (),
    facts: dict[str, str] | None = None,
    variant: str = "",
) -> Notice:
    """Render a notice (no calendar part). `facts` fill the placeholders of its intro and follow-up lines
    (position, deadline, hours); `variant` picks a follow-up line (`next_{kind}_{variant}`); `actions` are its
    buttons."""
    t = Strings(recipient.locale)
    values = facts or {}
    if meeting is not None and kind not in _SEATED_NOTICES:
        meeting = msgspec.structs.replace(meeting, online_url=None)  # a waiting list or an offer is no seat yet
    context = _context(kind, meeting, recipient, links=links)
    following = f"next_{kind}_{variant}" if variant else f"next_{kind}"
    context.update(
        intro=t.get(f"intro_{kind}", **values),
        next=t.get(following, **values) if following in t else "",
        actions=list(actions),
    )
    if kind == "signin":
        context["subject"] = header_text(t.subject_signin)
    text, html = _render(context)
    return Notice(subject=str(context["subject"]), text=text, html=html)
