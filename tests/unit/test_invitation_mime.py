"""The pre-encoded invitation message reads exactly like workers.mailer.build_message's, on the wire."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message
from aiosmtplib.protocol import LINE_ENDINGS_REGEX
from hypothesis import given, settings
from hypothesis import strategies as st

from services.invitations.compose import Composed, header_text
from services.invitations.mime import BOUNDARY, invitation_message, notice_message
from services.mail.message import build_message
from tests.invitation_checks import parse_imip

DATE = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//VNG//Leerkring//NL\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\n"
    "UID:x@leerkring.nl\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def composed(subject: str = "Uitnodiging: Casus", text: str = "Hallo\nwereld", method: str = "REQUEST") -> Composed:
    html = f"<p>{text}</p>"
    return Composed(subject=subject, text=text, html=html, ics=ICS.format(method=method), method=method)  # type: ignore[arg-type]


def wire(message: EmailMessage) -> EmailMessage:
    """What aiosmtplib sends (it writes every line end as CRLF), parsed back as a receiving mail client would."""
    data = LINE_ENDINGS_REGEX.sub(b"\r\n", flatten_message(message))
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def both(name: str, c: Composed, to: str = "jan@gemeente.nl") -> tuple[EmailMessage, EmailMessage]:
    sender = "Leerkring namens VNG <noreply@leerkring.test>"
    fast = invitation_message(sender=sender, to_name=name, to_email=to, composed=c, message_id="<m@x>", date=DATE)
    slow = build_message(
        sender=sender, to=(name, to), subject=c.subject, text=c.text, html=c.html, calendar=c.ics,
        calendar_method=c.method, message_id="<m@x>", date=DATE,
    )  # fmt: skip
    return wire(fast), wire(slow)


def rfc2047(message: EmailMessage, header: str) -> str:
    """A header decoded strictly by RFC 2047 (whitespace between adjacent encoded words is dropped, 6.2).

    policy.default's address parser re-inserts a space between two encoded words of one display name; both
    builders split a long name the same way, so compare what an RFC 2047 reader (Outlook, Gmail, Apple) shows.
    """
    raw = [value for name, value in message.raw_items() if name.lower() == header.lower()]
    assert len(raw) == 1, header
    return str(make_header(decode_header(str(raw[0]).replace("\r\n", ""))))  # unfold, then decode


def assert_same(fast: EmailMessage, slow: EmailMessage, *, name: str = "", subject: str = "") -> None:
    for header in ("From", "Date", "Message-ID", "Auto-Submitted", "MIME-Version"):
        assert rfc2047(fast, header) == rfc2047(slow, header), header
    # Display name and subject are compared with what went in: the header registry build_message uses drops a
    # space where it splits a long name between two encoded words, so it is no reference there.
    assert fast["To"].addresses[0].addr_spec == slow["To"].addresses[0].addr_spec
    to = rfc2047(fast, "To")
    assert to == (f"{name} <jan@gemeente.nl>" if name else "jan@gemeente.nl") or to.startswith('"')
    if to.startswith('"'):
        assert fast["To"].addresses[0].display_name == name
    if subject:
        assert rfc2047(fast, "Subject") == subject
    assert fast.get_content_type() == slow.get_content_type() == "multipart/alternative"
    fast_parts, slow_parts = list(fast.iter_parts()), list(slow.iter_parts())
    assert [p.get_content_type() for p in fast_parts] == [p.get_content_type() for p in slow_parts]
    for a, b in zip(fast_parts, slow_parts, strict=True):
        assert dict(a.get_params() or []) == dict(b.get_params() or [])
        assert a["Content-Transfer-Encoding"] == b["Content-Transfer-Encoding"]
        if a.get_content_type() == "text/calendar":
            assert a.get_payload(decode=True) == b.get_payload(decode=True)  # byte for byte, CRLF and all
        else:
            assert a.get_content() == b.get_content()


@pytest.mark.parametrize(
    "name",
    ["", "Jan", "Jansen, Jan", 'Jan "de" Vries', "Zoë van Dijk", "Back\\slash", "Jan\r\nBcc: x@y.nl", "👩🏽‍💻 " * 20],
)
def test_same_as_build_message(name: str) -> None:
    subject = "Uitnodiging: ‘Casus’, ë; \\ 🙂" + " lang" * 30
    assert_same(*both(name, composed(subject=subject)), name=header_text(name, 200), subject=subject)


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_calendar_part_keeps_crlf_and_method(method: str) -> None:
    fast, _ = both("Jan", composed(method=method))
    calendar = list(fast.iter_parts())[2]
    assert calendar.get_param("method") == method
    assert calendar.get_payload(decode=True) == ICS.format(method=method).encode()


def test_headers_cannot_be_injected() -> None:
    c = composed(subject="Titel\r\nBcc: x@y.nl\nX-Evil: 1")
    raw = flatten_message(
        invitation_message(sender="a <a@b.nl>", to_name="N\nCc: c@d.nl", to_email="jan@gemeente.nl", composed=c,
                           message_id="<m@x>")
    )  # fmt: skip
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in head
    assert b"\nCc:" not in head
    assert b"\nX-Evil:" not in head
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Titel Bcc: x@y.nl X-Evil: 1"
    message = invitation_message(
        sender="a <a@b.nl>", to_name="N", to_email="jan@gemeente.nl", composed=c, message_id="<m@x>"
    )
    assert extract_recipients(message) == ["jan@gemeente.nl"]
    assert extract_sender(message) == "a@b.nl"


@pytest.mark.parametrize("to", ["zoë@gemeente.nl", "a b@c.nl", "a@b.nl>, c@d.nl", "a@b.nl\r\nRCPT TO:<x@y.nl>", "geen"])
def test_anything_but_one_plain_address_is_refused(to: str) -> None:
    with pytest.raises(ValueError, match="address"):
        invitation_message(sender="a@b.nl", to_name="", to_email=to, composed=composed(), message_id="<m@x>")


def test_boundary_cannot_occur_in_encoded_content() -> None:
    hostile = f"--{BOUNDARY}\n--{BOUNDARY}--\n=_ ="
    fast, _ = both("Jan", composed(text=hostile))
    assert [p.get_content_type() for p in fast.iter_parts()] == ["text/plain", "text/html", "text/calendar"]
    assert next(iter(fast.iter_parts())).get_content().replace("\r\n", "\n") == hostile + "\n"


def test_the_result_passes_the_interop_checks() -> None:
    from tests.unit.test_invitation_compose import mail

    parse_imip(mail(), method="REQUEST", to="jan@gemeente.nl")


@settings(max_examples=80, deadline=None)
@given(name=st.text(max_size=60), subject=st.text(min_size=1, max_size=150), text=st.text(max_size=300))
def test_any_input_reads_the_same(name: str, subject: str, text: str) -> None:
    # compose() hands over subjects already cleaned (C1 controls too, which build_message alone would keep).
    name, subject = header_text(name, 200), header_text(subject) or "x"
    assert_same(*both(name, composed(subject=subject, text=text)), name=name, subject=subject)


def test_body_lines_starting_with_from_survive() -> None:
    fast, _ = both("Jan", composed(text="From de organisator\nFrom: niemand"))
    assert next(iter(fast.iter_parts())).get_content().replace("\r\n", "\n") == "From de organisator\nFrom: niemand\n"


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=60), subject=st.text(min_size=1, max_size=150), text=st.text(max_size=300))
def test_a_notice_without_calendar_reads_like_build_message(name: str, subject: str, text: str) -> None:
    # Reminders and evaluation requests: the same pre-encoded head, text and HTML, no calendar part.
    name, subject = header_text(name, 200), header_text(subject) or "x"
    sender = "Leerkring namens VNG <noreply@leerkring.test>"
    html = f"<p>{text}</p>"
    fast = notice_message(sender=sender, to_name=name, to_email="jan@gemeente.nl", subject=subject, text=text,
                          html=html, message_id="<m@x>", date=DATE)  # fmt: skip
    slow = build_message(sender=sender, to=(name, "jan@gemeente.nl"), subject=subject, text=text, html=html,
                         message_id="<m@x>", date=DATE)  # fmt: skip
    assert_same(wire(fast), wire(slow), name=name, subject=subject)
    assert [p.get_content_type() for p in wire(fast).iter_parts()] == ["text/plain", "text/html"]
