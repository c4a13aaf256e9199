"""Building mail: MIME structure, header safety, Message-IDs, SMTP URLs — no network."""

from __future__ import annotations

import base64
import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.mail.headers import header_text, make_address, message_id_for
from services.mail.message import build_message
from workers.mailer import FileMailer, SmtpConfig

ICS = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        "SUMMARY:Café",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)


def parse(message: EmailMessage) -> EmailMessage:
    """Round-trip through bytes, as a receiver sees it."""
    raw = message.as_bytes()
    parsed: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)
    return parsed


def invitation(**overrides: object) -> EmailMessage:
    values: dict[str, object] = {
        "sender": "Leerkring <noreply@leerkring.nl>",
        "to": ("Anne de Vries", "anne@gemeente.nl"),
        "subject": "Uitnodiging: Casuïstiek in het sociaal domein",
        "text": "Beste Anne,\n\nU bent uitgenodigd.",
        "html": "<p>Beste Anne,</p><p>U bent uitgenodigd.</p>",
        "calendar": ICS,
        "message_id": message_id_for("invitation:m1:p1:0", "leerkring.nl"),
    }
    values.update(overrides)
    return build_message(**values)  # type: ignore[arg-type]


def test_alternative_parts_in_order_with_an_imip_calendar_part():
    msg = parse(invitation())
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html", "text/calendar"]
    calendar = parts[2]
    assert calendar.get_param("method") == "REQUEST"
    assert calendar.get_content_charset() == "utf-8"
    assert calendar["Content-Transfer-Encoding"] == "base64"
    # Byte-exact: CRLF line ends survive (RFC 5545), and so does the UTF-8.
    assert base64.b64decode(calendar.get_payload()) == ICS.encode()
    assert msg.get_body(("plain",)).get_content().startswith("Beste Anne")  # type: ignore[union-attr]


def test_cancel_method_and_attached_ics():
    msg = parse(invitation(calendar_method="CANCEL", attach_ics=True))
    assert msg.get_content_type() == "multipart/mixed"
    alternative, attachment = list(msg.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_param("method") for p in alternative.iter_parts() if p.get_content_type() == "text/calendar"] == [
        "CANCEL"
    ]
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_filename() == "uitnodiging.ics"
    assert attachment.get_content() == ICS.encode()


def test_plain_text_only_is_a_single_part():
    msg = parse(invitation(html=None, calendar=None))
    assert msg.get_content_type() == "text/plain"


def test_no_header_injection_from_user_data():
    msg = invitation(
        to=("Evil\r\nBcc: victim@example.org", "anne@gemeente.nl"),
        subject="Hallo\r\nBcc: victim@example.org\nX-Evil: 1",
        headers={"X-Leerkring-Kind": "uitnodiging\r\nBcc: victim@example.org"},
    )
    raw = msg.as_bytes()
    parsed = parse(msg)
    assert parsed["Bcc"] is None
    assert parsed["X-Evil"] is None
    assert b"\nBcc:" not in raw
    assert parsed["Subject"] == "Hallo Bcc: victim@example.org X-Evil: 1"


def test_non_ascii_headers_are_rfc2047_encoded():
    msg = invitation(to=("Jörg Müller", "jorg@example.org"))
    raw = msg.as_bytes()
    assert raw.isascii(), "headers travel as 7-bit encoded words"
    assert b"=?utf-8?" in raw
    parsed = parse(msg)
    assert parsed["Subject"] == "Uitnodiging: Casuïstiek in het sociaal domein"
    assert parsed["To"].addresses[0].display_name == "Jörg Müller"


def test_message_id_is_stable_per_delivery_key():
    first = message_id_for("invitation:m1:p1:0", "leerkring.nl")
    assert first == message_id_for("invitation:m1:p1:0", "leerkring.nl")
    assert first != message_id_for("invitation:m1:p1:1", "leerkring.nl")
    assert first.startswith("<")
    assert first.endswith("@leerkring.nl>")
    assert parse(invitation())["Message-ID"] == first


def test_list_unsubscribe_with_one_click():
    msg = parse(
        invitation(
            list_unsubscribe="https://leerkring.nl/afmelden?t=abc",
            list_unsubscribe_mailto="mailto:afmelden@leerkring.nl",
        )
    )
    # Long enough to be folded; a receiver unfolds it.
    assert msg["List-Unsubscribe"].strip() == "<https://leerkring.nl/afmelden?t=abc>, <mailto:afmelden@leerkring.nl>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parse(invitation())["List-Unsubscribe"] is None


def test_automated_mail_headers():
    msg = parse(invitation())
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Date"] is not None
    assert msg["From"].addresses[0].addr_spec == "noreply@leerkring.nl"


@pytest.mark.parametrize(
    "bad",
    ["", "anne", "anne@", "a b@example.org", "anne@example.org, bob@example.org", "<anne@example.org>\r\n"],
)
def test_refuses_what_is_not_one_address(bad: str):
    with pytest.raises(ValueError, match="address"):
        make_address(bad)


def test_refuses_bad_unsubscribe_link_and_header_name():
    with pytest.raises(ValueError, match="unsubscribe"):
        invitation(list_unsubscribe="javascript:alert(1)")
    with pytest.raises(ValueError, match="header name"):
        invitation(headers={"Bad Name": "x"})


@given(st.text())
def test_header_text_never_contains_line_breaks(value: str):
    cleaned = header_text(value)
    assert not any(ch in cleaned for ch in "\r\n\x00\x0b\x0c\x85\u2028\u2029\u202e\u2066\u200f")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:2525", SmtpConfig(host="127.0.0.1", port=2525)),
        ("smtp://mail.example.org", SmtpConfig(host="mail.example.org", port=25)),
        (
            "smtp://user%40x:p%3Ass@mail.example.org:587?starttls=require&timeout=5",
            SmtpConfig(
                host="mail.example.org", port=587, username="user@x", password="p:ss", start_tls=True, timeout=5.0
            ),
        ),
        (
            "smtps://u:p@mail.example.org?verify=0",
            SmtpConfig(
                host="mail.example.org",
                port=465,
                username="u",
                password="p",
                use_tls=True,
                start_tls=False,
                validate_certs=False,
            ),
        ),
        ("smtp://h:25?starttls=off", SmtpConfig(host="h", port=25, start_tls=False)),
    ],
)
def test_smtp_urls(url: str, expected: SmtpConfig):
    assert SmtpConfig.from_url(url) == expected


@pytest.mark.parametrize("url", ["http://mail.example.org", "smtp://", "mail.example.org:25"])
def test_bad_smtp_urls(url: str):
    with pytest.raises(ValueError, match="SMTP URL"):
        SmtpConfig.from_url(url)


async def test_file_mailer_writes_complete_eml_files(tmp_path: Path):
    mailer = FileMailer(tmp_path / "mail")
    await mailer.send(invitation())
    files = list((tmp_path / "mail").iterdir())
    assert [f.suffix for f in files] == [".eml"]
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Uitnodiging: Casuïstiek in het sociaal domein"
