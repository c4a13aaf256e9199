"""List-Unsubscribe for mass invitations (RFC 2369, RFC 8058 one-click): a link per invitation row, signed, with
nothing personal in it. Following it (the page's button, or a mail client's one-click POST) takes the address out of
mass invitations: on the suppression list (services/participants/suppression.py, reason "unsubscribed") and, for a
participant, their consent to invitations by criteria off. Updates and cancellations of a meeting already in their
calendar still come: those are about an appointment they hold, not new invitations.
"""

from __future__ import annotations

from services import links_signing
from services.db import Connection
from services.participants import suppression

PATH = "/uitschrijven"


def _what(invitation_id: int) -> str:
    return f"unsubscribe:{invitation_id}"


def url(base_url: str, secret: str, invitation_id: int) -> str:
    token = links_signing.sign(secret, _what(invitation_id), kind="afmeld")
    return f"{base_url.rstrip('/')}{PATH}/{invitation_id}/{token}"


def valid(secret: str, invitation_id: int, token: str) -> bool:
    return links_signing.valid(secret, _what(invitation_id), token)


async def address_of(conn: Connection, invitation_id: int) -> str | None:
    """The invitee's address; None for an unknown row (or one whose address was erased since)."""
    email = await conn.fetchval("SELECT email FROM invitations WHERE id = $1", invitation_id)
    return None if email is None or str(email).endswith("@invalid") else str(email)


async def unsubscribe(conn: Connection, secret: str, email: str) -> None:
    """No more mass invitations to this address (idempotent)."""
    await suppression.suppress(conn, secret, email, "unsubscribed")
    await conn.execute(
        "UPDATE participants SET invitation_consent = false, consent_changed_at = now(), updated_at = now() "
        "WHERE email = $1 AND invitation_consent",
        email,
    )
