"""The suppression list: addresses of erased people, kept only as a keyed hash, never mailed by anyone else's doing.

After an erasure (services/me/service.py) nothing readable of the address stays, but a later re-import by an
organiser (`POST /api/v1/participants`, a pasted list, a saved audience list) must not silently put the person back
into mass invitations. So the erasure stores HMAC-SHA256(key, address), the key derived from
`LEERKRING_SECRET_KEY` with a label of its own: without the secret the list cannot be tested against a list of
guessed addresses, and it says nothing by itself.

What it blocks: invitation batches by criteria and by pasted addresses (services/invitations/fanout.py) leave a
suppressed address out (counted as skipped). What it does not block: mail the person asks for themselves (the
confirmation link of their own registration on a meeting page, a sign-in link to an account they made again). When
they prove the address themselves with such a link (a confirmation link, a sign-in link), the entry is lifted: they
came back. Staff vouching for the address does not lift it. Rotating the secret key voids the list (documented in
README "Erasure").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
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


async def suppress(conn: Connection, secret: str, email: str) -> None:
    await conn.execute(
        "INSERT INTO suppressed_addresses (address_hash) VALUES ($1) ON CONFLICT DO NOTHING",
        address_hash(secret, email),
    )


async def lift(conn: Connection, secret: str, email: str) -> None:
    """The person proved the address themselves: mass invitations may reach them again."""
    await conn.execute("DELETE FROM suppressed_addresses WHERE address_hash = $1", address_hash(secret, email))


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
