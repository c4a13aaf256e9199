"""List-Unsubscribe for mass invitations (RFC 2369, RFC 8058 one-click): a link per invitation row, signed, with
nothing readable in it. Following it (the page's button, or a mail client's one-click POST) takes the address out of
mass invitations: on the suppression list (services/participants/suppression.py, reason "unsubscribed") and, for a
participant, their consent to invitations by criteria off. Updates and cancellations of a meeting already in their
calendar still come: those are about an appointment they hold, not new invitations.

The link must outlive its invitation row, which retention removes 12 months after the meeting (services/retention),
while a mail is kept for years. So it carries, sealed, what the unsubscribe needs: the address's suppression hash and
the participant id. Sealed: XOR with a pad derived from the invitation id by HMAC-SHA256 under a key of its own (a
pseudo-random function used as a one-time pad: each row id seals one value once), then a MAC over id and sealed
bytes. Without the secret the token reads as noise and two mails to one person share nothing, so it cannot link
requests in a log either. Links made before (token = MAC of the row id alone) still work while the row is there;
after that their page says honestly that it is too old.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Literal
from uuid import UUID

import msgspec

from services import links_signing
from services.db import Connection
from services.participants import suppression

PATH = "/uitschrijven"
_SEAL_LABEL = b"leerkring/unsubscribe-seal/v2"
_MAC_LABEL = b"leerkring/unsubscribe-mac/v2"
_MAC_BYTES = 16
_NO_PARTICIPANT = bytes(16)
_SEALED_BYTES = 32 + 16  # the address's suppression hash, the participant id (zeros for a pasted address)


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """What a verified link says beyond its row id: nothing for a link of the first kind."""

    address_hash: bytes | None = None
    participant_id: UUID | None = None


def _key(secret: str, label: bytes) -> bytes:
    if not secret:
        raise RuntimeError("LEERKRING_SECRET_KEY is not set: unsubscribe links cannot be signed")
    return hmac.new(secret.encode(), label, hashlib.sha256).digest()


def _pad(secret: str, invitation_id: int) -> bytes:
    key = _key(secret, _SEAL_LABEL)
    blocks = (hmac.new(key, f"{invitation_id}:{n}".encode(), hashlib.sha256).digest() for n in (0, 1))
    return b"".join(blocks)[:_SEALED_BYTES]


def _mac(secret: str, invitation_id: int, sealed: bytes) -> bytes:
    return hmac.new(_key(secret, _MAC_LABEL), f"{invitation_id}.".encode() + sealed, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def url(base_url: str, secret: str, invitation_id: int, email: str, participant_id: UUID | None) -> str:
    plain = suppression.address_hash(secret, email) + (participant_id.bytes if participant_id else _NO_PARTICIPANT)
    sealed = bytes(a ^ b for a, b in zip(plain, _pad(secret, invitation_id), strict=True))
    token = f"{_b64(sealed)}.{_b64(_mac(secret, invitation_id, sealed)[:_MAC_BYTES])}"
    return f"{base_url.rstrip('/')}{PATH}/{invitation_id}/{token}"


def verify(secret: str, invitation_id: int, token: str) -> Target | None:
    """What the link carries, or None for a link we did not make."""
    if "." not in token:  # the first kind: a MAC over the row id alone
        return Target() if links_signing.valid(secret, f"unsubscribe:{invitation_id}", token) else None
    sealed_text, _, mac = token.partition(".")
    try:
        sealed = base64.urlsafe_b64decode(sealed_text + "=" * (-len(sealed_text) % 4))
    except (binascii.Error, ValueError):
        return None
    # Compare the text of the MAC (one spelling per link), in constant time; then the sealed bytes' own spelling.
    expected = _b64(_mac(secret, invitation_id, sealed)[:_MAC_BYTES])
    if not hmac.compare_digest(mac.encode(), expected.encode()) or _b64(sealed) != sealed_text:
        return None
    if len(sealed) != _SEALED_BYTES:
        return None
    plain = bytes(a ^ b for a, b in zip(sealed, _pad(secret, invitation_id), strict=True))
    person = plain[32:]
    return Target(address_hash=plain[:32], participant_id=None if person == _NO_PARTICIPANT else UUID(bytes=person))


Row = Literal["live", "erased", "gone"]


async def _row(conn: Connection, invitation_id: int) -> tuple[Row, str | None]:
    email = await conn.fetchval("SELECT email FROM invitations WHERE id = $1", invitation_id)
    if email is None:
        return "gone", None
    return ("erased", None) if str(email).endswith("@invalid") else ("live", str(email))


async def can_follow(conn: Connection, invitation_id: int, target: Target) -> bool:
    """False only for a link of the first kind whose invitation row retention removed: nothing left to go on."""
    return target.address_hash is not None or (await _row(conn, invitation_id))[0] != "gone"


async def follow(conn: Connection, secret: str, invitation_id: int, target: Target) -> bool:
    """No more mass invitations to the address the link's mail went to (idempotent). False when the link cannot say
    which address that was (see can_follow)."""
    state, email = await _row(conn, invitation_id)
    if email is not None:
        await unsubscribe(conn, secret, email)
        return True
    if state == "erased":
        return True  # the erasure put the address on the list already
    if target.address_hash is None:
        return False
    await suppression.suppress_hash(conn, target.address_hash, "unsubscribed")
    if target.participant_id is not None:
        # Only while the participant still has the address the mail went to.
        current = await conn.fetchval(
            "SELECT email FROM participants WHERE id = $1 AND erased_at IS NULL", target.participant_id
        )
        if current is not None and hmac.compare_digest(
            suppression.address_hash(secret, str(current)), target.address_hash
        ):
            await _consent_off(conn, str(current))
    return True


async def unsubscribe(conn: Connection, secret: str, email: str) -> None:
    """No more mass invitations to this address (idempotent)."""
    await suppression.suppress(conn, secret, email, "unsubscribed")
    await _consent_off(conn, email)


async def _consent_off(conn: Connection, email: str) -> None:
    await conn.execute(
        "UPDATE participants SET invitation_consent = false, consent_changed_at = now(), updated_at = now() "
        "WHERE email = $1 AND invitation_consent",
        email,
    )
