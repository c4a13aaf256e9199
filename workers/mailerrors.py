"""What can go wrong when a mail is handed to the SMTP server, as types the senders act on.

    MailError
    ├── Transient            try this message again later (a 4xx for it); spends none of its attempts
    │   └── ServerDown       the server as a whole is away (refused or dropped connection, timeout, 421):
    │                        senders wait at the gate (workers/mailgate.py) instead of trying each mail
    └── Permanent            retrying cannot help; the delivery is failed for good
        ├── RecipientRejected  a 5xx for the recipient: a bounce
        └── MessageRejected    a 5xx for the message itself (its size, its content)

The transport (workers/smtp.py) raises these; nobody reads the wording of a message to decide.
"""

from __future__ import annotations


class MailError(Exception):
    """Sending failed."""


class Transient(MailError):
    """Try again later: the server answered 4xx for this message or recipient."""


class ServerDown(Transient):
    """The mail server did not take part: connection refused, dropped or timed out, or 421 (closing)."""


class Permanent(MailError):
    """Retrying will not help: the server refused the message or recipient with a 5xx answer."""

    failure = "rejected"  # deliveries.failure


class RecipientRejected(Permanent):
    """5xx to RCPT TO: the address does not exist or does not take our mail."""

    failure = "bounced"


class MessageRejected(Permanent):
    """5xx to DATA: the message itself was refused."""

    failure = "rejected"
