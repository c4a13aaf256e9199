"""The suppression list: addresses of erased people, kept only as a keyed hash, never mailed by anyone else's doing.

After an erasure (services/me/service.py) nothing readable of the address stays, but a later re-import by an
organiser (`POST /api/v1/participants`, a pasted list, a saved audience list) must not silently put the person back
into mass invitations. So the erasure stores HMAC-SHA256(key, address), the key derived from
`LEERKRING_SECRET_KEY` with a label of its own: without the secret the list cannot be tested against a list of
guessed addresses, and it says nothing by itself.

Two reasons put an address here: the erasure, and the List-Unsubscribe link of a mass invitation
(services/invitations/unsubscribe.py). What it blocks: invitation batches by criteria and by pasted addresses
(services/invitations/fanout.py) leave a suppressed address out (counted as skipped). What it does not block: mail
the person asks for themselves (the confirmation link of their own registration on a meeting page, a sign-in link to
an account they made again), and updates or cancellations of a meeting already in their calendar. An erasure is
lifted when they prove the address themselves with such a link (a confirmation link, a sign-in link): they came
back. An unsubscribe is lifted when they ask for invitations again (the consent box on their own page). Staff
vouching for an address lifts neither. Rotating the secret key voids the list (README, "Erasure").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Literal
from uuid import UUID

from services.db import Connection

_LABEL = b"leerkring/suppression/v1"


def _normalise(email: str) -> str:
    return email.strip().lower()


def address_hash(secret: str, email: str) -> bytes:
    """The keyed hash of a normalised address. Raises ValueError without a secret."""
    if not secret:
        raise ValueError("secret_key is empty; the suppression list cannot be keyed")
    key = hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()
    return hmac.new(key, _normalise(email).encode(), hashlib.sha256).digest()


Reason = Literal["erased", "unsubscribed"]


async def suppress(conn: Connection, secret: str, email: str, reason: Reason = "erased") -> None:
    """Put the address on the list; an erasure outranks an unsubscribe (it is lifted only by proof of address)."""
    await suppress_hash(conn, address_hash(secret, email), reason)


async def suppress_hash(conn: Connection, digest: bytes, reason: Reason) -> None:
    """`suppress` for an address known only by its hash (an unsubscribe link whose invitation row is gone)."""
    await conn.execute(
        """
        INSERT INTO suppressed_addresses (address_hash, reason) VALUES ($1, $2)
        ON CONFLICT (address_hash) DO UPDATE SET reason = 'erased' WHERE excluded.reason = 'erased'
        """,
        digest,
        reason,
    )


async def lift(conn: Connection, secret: str, email: str, reason: Reason = "erased") -> None:
    """Mass invitations may reach the address again: the person proved it themselves (erased), or asked for
    invitations again (unsubscribed)."""
    await conn.execute(
        "DELETE FROM suppressed_addresses WHERE address_hash = $1 AND reason = $2", address_hash(secret, email), reason
    )


async def is_suppressed(conn: Connection, secret: str, email: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM suppressed_addresses WHERE address_hash = $1)", address_hash(secret, email)
        )
    )


async def suppressed(conn: Connection, secret: str, emails: Iterable[str]) -> set[str]:
    """Which of these (normalised) addresses are on the list, in one statement."""
    by_hash = {address_hash(secret, e): _normalise(e) for e in emails}
    if not by_hash:
        return set()
    rows = await conn.fetch(
        "SELECT address_hash FROM suppressed_addresses WHERE address_hash = ANY($1::bytea[])", list(by_hash)
    )
    return {by_hash[bytes(r["address_hash"])] for r in rows}


async def came_back(conn: Connection, secret: str, participant_id: UUID) -> None:
    """This participant proved their address with a link mailed to it (their own doing): lift any suppression."""
    email = await conn.fetchval("SELECT email FROM participants WHERE id = $1 AND erased_at IS NULL", participant_id)
    if email is not None:
        await lift(conn, secret, str(email))


async def asked_again(conn: Connection, secret: str, participant_id: UUID) -> None:
    """After a profile change: a participant who now consents to invitations lifts their own unsubscribe."""
    email = await conn.fetchval(
        "SELECT email FROM participants WHERE id = $1 AND invitation_consent AND erased_at IS NULL", participant_id
    )
    if email is not None:
        await lift(conn, secret, str(email), "unsubscribed")
