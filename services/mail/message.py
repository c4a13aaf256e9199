"""A MIME message (multipart/alternative: text, HTML, iMIP calendar part) built under the header policy (headers.py).

The fan-out's hot path has a pre-encoded twin of the invitation (services/invitations/mime.py), tested against this.
"""

from __future__ import annotations

import email.policy
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

from services.mail.headers import check_header_name, check_link, header_text, make_address

CalendarMethod = Literal["REQUEST", "CANCEL", "PUBLISH"]
Recipient = str | tuple[str, str]


def build_message(
    *,
    sender: Recipient,
    to: Recipient | Sequence[Recipient],
    subject: str,
    text: str,
    html: str | None = None,
    calendar: str | None = None,
    calendar_method: CalendarMethod = "REQUEST",
    attach_ics: bool = False,
    ics_filename: str = "uitnodiging.ics",
    message_id: str | None = None,
    list_unsubscribe: str | None = None,
    list_unsubscribe_mailto: str | None = None,
    reply_to: Recipient | None = None,
    headers: Mapping[str, str] | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    """A multipart/alternative message (text, HTML, iMIP calendar part), optionally with the .ics attached.

    Raises ValueError for a malformed address, header name or unsubscribe URL.
    """
    recipients = [to] if isinstance(to, str | tuple) else list(to)
    addresses = [make_address(r) for r in recipients]
    from_address = make_address(sender)
    # Non-ASCII mailbox names need SMTPUTF8; everything else stays 7-bit safe with RFC 2047 headers.
    ascii_only = all(a.addr_spec.isascii() for a in [*addresses, from_address])
    msg = EmailMessage(policy=email.policy.SMTP if ascii_only else email.policy.SMTPUTF8)
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    if calendar is not None:
        # Bytes + base64 keep the CRLF line ends RFC 5545 requires; a text part would be re-wrapped to LF.
        data = calendar.encode()
        params = {"method": calendar_method, "charset": "utf-8"}
        msg.add_alternative(data, maintype="text", subtype="calendar", cte="base64", params=params)
        if attach_ics:
            name = header_text(ics_filename) or "uitnodiging.ics"
            msg.add_attachment(data, maintype="application", subtype="ics", filename=name)
    msg["From"] = from_address
    msg["To"] = addresses
    msg["Subject"] = header_text(subject)
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@{from_address.domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    if reply_to is not None:
        msg["Reply-To"] = make_address(reply_to)
    unsubscribe = [u for u in (list_unsubscribe, list_unsubscribe_mailto) if u]
    for url in unsubscribe:
        check_link(url)
    if unsubscribe:
        msg["List-Unsubscribe"] = ", ".join(f"<{u}>" for u in unsubscribe)
        if list_unsubscribe:
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058 one-click
    for name, value in (headers or {}).items():
        msg[check_header_name(name)] = header_text(value)
    return msg
