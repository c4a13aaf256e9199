"""The CALENDAR-INTEROP checks every invitation, update and cancellation mail must pass, shared by the tests.

A message is parsed with Python's `email` parser (policy.default); its calendar part with python-icalendar AND the
strict `ical` package, so a file one lenient parser accepts is not taken as proof (A16).
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

import icalendar
from ical.calendar_stream import IcsCalendarStream


@dataclass(frozen=True)
class Imip:
    message: EmailMessage
    method: str
    uid: str
    sequence: int
    dtstamp: datetime
    summary: str
    attendee: str
    partstat: str
    status: str
    ics: bytes
    text: str
    html: str


def check_wire(data: bytes) -> None:
    """A1-A4: UTF-8 without BOM, CRLF only, physical lines of at most 75 octets that each decode alone."""
    assert not data.startswith(b"\xef\xbb\xbf"), "BOM"
    assert data.endswith(b"\r\n")
    assert b"\r" not in data.replace(b"\r\n", b""), "bare CR"
    assert b"\n" not in data.replace(b"\r\n", b""), "bare LF"
    lines = data[:-2].split(b"\r\n")
    assert all(lines), "blank line"
    for line in lines:
        assert len(line) <= 75, line
        line.decode("utf-8")  # folding never splits a UTF-8 sequence (raises otherwise)
    assert not re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", data.replace(b"\r\n", b"")), "control character"


def parse_imip(raw: bytes | EmailMessage, *, method: str, to: str | None = None, rsvp: bool | None = None) -> Imip:
    """Parse and check one iMIP message; returns what tests compare across messages. `rsvp`: whether an invitation
    must ask calendars to reply (True only with an inbound reply address); None leaves it unchecked."""
    if isinstance(raw, EmailMessage):
        raw = raw.as_bytes(policy=email.policy.SMTPUTF8)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    # C8: one From, one To (the invitee alone), one Subject; no Cc or Bcc, nothing a user string could add.
    for header in ("From", "To", "Subject", "Message-ID", "Date"):
        assert len(message.get_all(header) or []) == 1, header
    assert message.get_all("Bcc") is None
    assert message.get_all("Cc") is None
    assert len(message["To"].addresses) == 1
    if to is not None:
        assert message["To"].addresses[0].addr_spec == to
    assert "\n" not in str(message["Subject"])
    assert "\r" not in str(message["Subject"])
    # C1: multipart/alternative of text, HTML and the calendar part.
    assert message.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p for p in message.iter_parts()}
    assert list(parts) == ["text/plain", "text/html", "text/calendar"]
    calendar = parts["text/calendar"]
    # C2: method= present, upper case, equal to METHOD inside; A1: charset utf-8.
    assert calendar.get_param("method") == method
    assert str(calendar.get_param("charset")).lower() == "utf-8"
    ics = calendar.get_payload(decode=True)
    assert isinstance(ics, bytes)
    check_wire(ics)
    text = ics.decode("utf-8")
    lenient = icalendar.Calendar.from_ical(text)
    strict = IcsCalendarStream.calendar_from_ics(text)
    assert lenient["METHOD"] == method
    assert strict.method == method
    assert "X-WR-CALNAME" not in text  # C6
    events = lenient.walk("VEVENT")
    assert len(events) == 1
    assert len(strict.events) == 1
    event, strict_event = events[0], strict.events[0]
    # A10: a full VTIMEZONE for the TZID the times use.
    tzids = set(re.findall(r";TZID=([^:;]+)", text.replace("\r\n ", "")))
    defined = {str(tz["TZID"]) for tz in lenient.walk("VTIMEZONE")}
    assert tzids
    assert tzids <= defined
    assert all(tz.walk("STANDARD") or tz.walk("DAYLIGHT") for tz in lenient.walk("VTIMEZONE"))
    # C4: exactly one ORGANIZER, the invitee as the one ATTENDEE.
    unfolded = text.replace("\r\n ", "")
    assert unfolded.count("\r\nORGANIZER") == 1
    attendees = [a for a in unfolded.split("\r\n") if a.startswith("ATTENDEE")]
    assert len(attendees) == 1
    assert len(strict_event.attendees) == 1
    attendee = strict_event.attendees[0]
    if to is not None:
        assert attendee.uri == f"mailto:{to}"
    partstat = str(event["ATTENDEE"].params["PARTSTAT"])
    if method == "REQUEST":
        # A confirmation tells the calendar the person is coming; an invitation asks (only when replies reach us).
        assert partstat in ("NEEDS-ACTION", "ACCEPTED")
        if partstat == "ACCEPTED":
            assert attendee.rsvp is False
        elif rsvp is not None:
            assert attendee.rsvp is rsvp
        assert str(event["STATUS"]) == "CONFIRMED"
    else:
        assert str(event["STATUS"]) == "CANCELLED"
        assert strict_event.status == "CANCELLED"
    assert str(event["UID"]) == strict_event.uid
    assert int(event["SEQUENCE"]) == strict_event.sequence
    assert str(event["SUMMARY"]) == strict_event.summary
    assert text.count("\r\nDTSTAMP:") == 1
    assert re.search(r"\r\nDTSTAMP:\d{8}T\d{6}Z\r\n", text)
    return Imip(
        message=message,
        method=method,
        uid=strict_event.uid,
        sequence=int(strict_event.sequence or 0),
        dtstamp=strict_event.dtstamp,
        summary=str(strict_event.summary),
        attendee=str(attendee.uri),
        partstat=partstat,
        status=str(event["STATUS"]),
        ics=ics,
        text=parts["text/plain"].get_content(),
        html=parts["text/html"].get_content(),
    )
