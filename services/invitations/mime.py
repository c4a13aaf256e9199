"""The invitation e-mail, pre-encoded: the structure of services.mail.message.build_message at a fraction of the cost.

A fan-out sends tens of thousands of mails. Built with EmailMessage, each costs ~3 ms of CPU in the email
package (its header registry parses and re-folds every header, several times while aiosmtplib flattens it),
which on two cores caps a worker well below what the SMTP server takes. Here the head and every part are encoded
once, by hand, with the stdlib encoders (RFC 2047 words via email.header, quoted-printable, base64), and the
generator writes them out verbatim.

What goes in is checked as build_message checks it, by the same policy (services/mail/headers.py): one plain
address per field, and no header value can hold a line break or a bidi control (header_text).
tests/unit/test_invitation_mime.py parses the result with policy.default and
compares it, header by header and part by part, with build_message's output for the same input.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from datetime import UTC, datetime
from email.generator import Generator
from email.message import EmailMessage, Message
from email.utils import format_datetime, formataddr, parseaddr
from typing import cast

from services.invitations.compose import Composed
from services.mail.headers import address_problem, check_link, header_text

# Every body part is quoted-printable or base64, and neither can produce "=_" (QP writes "=" as "=3D", base64 has
# no "_"), so a fixed boundary can never collide with content (the reasoning many MTAs rely on).
BOUNDARY = "=_leerkring_alternative"
_FROM_LINE = re.compile(r"^From ", re.MULTILINE)
# One mailbox of printable ASCII without the characters that delimit or quote addresses (RFC 5322 specials).
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+\-/=?^_`{|}~]+@[A-Za-z0-9.\-]+")
_MESSAGE_ID = re.compile(r"<[!-;=?-~]+>", re.ASCII)
# 39 bytes make 52 base64 characters: a 64-character encoded word, so "Subject: " plus one word stays within 78.
_WORD_BYTES = 39


def encoded_words(text: str) -> str:
    """RFC 2047 'B' words of at most 64 characters, split between code points, separated by folding whitespace.

    The whole text, spaces included, goes inside the words: a decoder drops the whitespace *between* encoded words
    (RFC 2047 6.2), so a space left outside, as email.header.Header does when it folds at one, would be lost.
    """
    words: list[bytes] = []
    chunk = b""
    for char in text:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > _WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += data
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words)


def _fold_ascii(name: str, value: str) -> str:
    """Fold plain text before spaces so that lines stay within 78 octets; unfolding restores it exactly."""
    lines, line = [], f"{name}: "
    for n, word in enumerate(value.split(" ")):
        piece = word if n == 0 else f" {word}"
        if len(line) + len(piece) > 78 and line.strip() != f"{name}:":
            lines.append(line)
            line = ""
        line += piece
    lines.append(line)
    return "\r\n".join(lines)[len(name) + 2 :]


def encoded_header(name: str, value: str) -> str:
    """An unstructured header value on one logical line: RFC 2047 words when not plain ASCII, folded to 78."""
    value = header_text(value, 998)
    if not value.isascii():
        return encoded_words(value)
    return value if len(name) + 2 + len(value) <= 78 else _fold_ascii(name, value)


def address(name: str, addr: str) -> str:
    """`Naam <a@b.nl>`, the name quoted or RFC 2047-encoded as needed; raises ValueError unless `addr` is one
    plain ASCII address (non-ASCII mailboxes need SMTPUTF8 and take the general builder)."""
    if not _PLAIN_ADDRESS.fullmatch(addr) or address_problem(addr):
        raise ValueError(f"not a single plain e-mail address: {addr!r}")
    display = header_text(name, 200)
    if not display:
        return addr
    if display.isascii():
        # formataddr quotes a name with specials ("Jansen, Jan") and escapes quotes and backslashes in it.
        return formataddr((display, addr))
    return f"{encoded_words(display)} <{addr}>"


class _Prerendered(Message):
    """A message encoded already, head and body; the generator writes it out verbatim in one go.

    email.generator asks a message object for `_write_headers` before doing the headers itself ("see if the
    message object wants to handle that itself"); this one writes its finished head, the blank line and its
    finished body there, and has no payload for the generator to walk. The bare sender and recipient addresses
    are kept as ordinary From and To headers too: aiosmtplib reads the envelope from them (and a bare address is
    several times cheaper for it to parse than one with an encoded display name). They are never written out.
    """

    def __init__(self, head: str, body: str, sender: str, to: str) -> None:
        super().__init__()
        self["From"] = sender
        self["To"] = to
        self._text = f"{head}\n{body}"  # LF line ends: aiosmtplib sends every line end as CRLF

    def _write_headers(self, generator: Generator) -> None:
        generator.write(self._text)


def _part(content_type: str, cte: str, payload: str) -> str:
    return f"--{BOUNDARY}\nContent-Type: {content_type}\nContent-Transfer-Encoding: {cte}\n\n{payload}\n"


def _qp(text: str) -> str:
    # istext: line breaks stay line breaks (the generator writes them as CRLF); everything else becomes ASCII.
    # Ends with a line break, as EmailMessage.set_content makes it.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    data = (text if text.endswith("\n") else text + "\n").encode("utf-8")
    # A body line starting "From " would be rewritten to ">From " by generators that mangle such lines (compat32
    # does); "=46" is the same F, quoted.
    return _FROM_LINE.sub("=46rom ", binascii.b2a_qp(data, istext=True).decode("ascii"))


@functools.lru_cache(maxsize=16)
def _parse_sender(sender: str) -> tuple[str, str]:
    return parseaddr(sender)


def invitation_message(
    *,
    sender: str,
    to_name: str,
    to_email: str,
    composed: Composed,
    message_id: str,
    date: datetime | None = None,
    list_unsubscribe: str | None = None,
) -> EmailMessage:
    """multipart/alternative (text, HTML, text/calendar with method=) for one invitee.

    Raises ValueError for anything but plain ASCII addresses or a malformed Message-ID; the caller then falls
    back to workers.mailer.build_message.
    """
    calendar = base64.encodebytes(composed.ics.encode("utf-8")).decode("ascii")
    # Base64 keeps the CRLF line ends RFC 5545 requires; method= must equal METHOD inside (C2).
    part = _part(f'text/calendar; charset="utf-8"; method={composed.method}', "base64", calendar)
    return _prerendered(sender, to_name, to_email, composed.subject, composed.text, composed.html, part, message_id,
                        date, list_unsubscribe)  # fmt: skip


def notice_message(
    *, sender: str, to_name: str, to_email: str, subject: str, text: str, html: str, message_id: str,
    date: datetime | None = None,
) -> EmailMessage:  # fmt: skip
    """multipart/alternative (text, HTML) for a notice without a calendar part (reminders, evaluation requests): the
    same pre-encoded head and parts, for mails that a job sends in blocks. Raises ValueError as invitation_message."""
    return _prerendered(sender, to_name, to_email, subject, text, html, "", message_id, date)


def _prerendered(
    sender: str, to_name: str, to_email: str, subject_text: str, text: str, html: str, extra: str, message_id: str,
    date: datetime | None, list_unsubscribe: str | None = None,
) -> EmailMessage:  # fmt: skip
    if not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError(f"malformed Message-ID {message_id!r}")
    sender_name, sender_address = _parse_sender(sender)
    # The head is written with LF line ends like the rest (aiosmtplib turns every line end into CRLF on the wire).
    sender_field = address(sender_name, sender_address).replace("\r\n", "\n")
    to_field = address(to_name, to_email).replace("\r\n", "\n")
    subject = encoded_header("Subject", subject_text).replace("\r\n", "\n")
    head = (
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/alternative; boundary="{BOUNDARY}"\n'
        f"From: {sender_field}\n"
        f"To: {to_field}\n"
        f"Subject: {subject}\n"
        f"Date: {format_datetime(date or datetime.now(UTC))}\n"
        f"Message-ID: {message_id}\n"
        "Auto-Submitted: auto-generated\n"
    )
    if list_unsubscribe is not None:
        check_link(list_unsubscribe)  # RFC 8058: an https URL, one-click by POST
        head += f"List-Unsubscribe: <{list_unsubscribe}>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
    body = "".join(
        [
            _part('text/plain; charset="utf-8"', "quoted-printable", _qp(text)),
            _part('text/html; charset="utf-8"', "quoted-printable", _qp(html)),
            extra,
            f"--{BOUNDARY}--\n",
        ]
    )
    msg = _Prerendered(head, body, sender_address, to_email)
    # The mailer protocol names EmailMessage, but all it does with a message is hand it to aiosmtplib's
    # send_message (or call as_bytes), which take any email.message.Message; it must not be an EmailMessage,
    # because aiosmtplib re-flattens those with policy.SMTP, which is exactly the cost avoided here.
    return cast("EmailMessage", msg)
