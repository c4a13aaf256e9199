"""Personal participant tokens: sign-in links, manage links and calendar feeds.

A token is `lkp_` + 256 bits, URL-safe. Only its SHA-256 is stored; with that much entropy a fast hash is enough
and an indexed lookup by hash is safe (a timing difference reveals at most a hash prefix, not the token). The
final comparison is constant-time anyway. Tokens are bound to one purpose, so a leaked feed URL cannot manage
registrations, and carry nothing readable (no address, no id).

Two ways to make one:
* `issue`: random, returned once (a sign-in that became a browser session, an API token).
* `derive`: an HMAC of the secret key over a purpose and a subject, the same every time. Mail jobs use it: a
  retried job puts the same link in the mail, nothing is stored in plain text, and `ensure` records the hash
  before the mail leaves. Manage links are derived per mail (subject: the delivery key) and expire after
  `manage_link_days`, so every new mail hands out a fresh link; the feed link is derived from the participant
  and their `feed_generation`, so it stays the same in every mail until they rotate it.

Sign-in links are single-use and expire within hours; a GET never spends them (mail scanners open every link),
only the button on the page does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import msgspec

from schemas.participants import TokenInfo, TokenPurpose
from services.db import Connection

MARKER = "lkp_"
_DERIVE_LABEL = b"leerkring/participant-token/v1"
StoredPurpose = Literal["manage", "feed", "signin"]
# last_used_at is for people reviewing their tokens, not an audit log: writing it on every feed poll would turn
# 200,000 calendars polling every 15 minutes into a steady stream of updates.
TOUCH_INTERVAL = timedelta(hours=1)


class ResolvedToken(msgspec.Struct, frozen=True, kw_only=True):
    token_id: UUID
    participant_id: UUID


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def looks_like_token(value: str) -> bool:
    return value.startswith(MARKER) and 20 < len(value) <= 200


def derive(secret: str, purpose: str, subject: str) -> str:
    """The token for (purpose, subject): only the holder of the secret key can make it, and it is the same every
    time. Raises ValueError without a secret."""
    if not secret:
        raise ValueError("secret_key is empty; personal links cannot be made")
    key = hmac.new(secret.encode(), _DERIVE_LABEL, hashlib.sha256).digest()
    mac = hmac.new(key, f"{purpose}:{subject}".encode(), hashlib.sha256).digest()
    return MARKER + base64.urlsafe_b64encode(mac).decode().rstrip("=")


async def issue(
    conn: Connection, participant_id: UUID, purpose: StoredPurpose, *, expires_at: datetime | None = None
) -> str:
    """Create a random token and return it in plain text; it cannot be shown again."""
    token = MARKER + secrets.token_urlsafe(32)
    await ensure(conn, participant_id, purpose, token, expires_at=expires_at)
    return token


async def ensure(
    conn: Connection, participant_id: UUID, purpose: StoredPurpose, token: str, *, expires_at: datetime | None
) -> None:
    """Record a (derived) token; recording it again only moves its expiry later. A revoked token stays revoked."""
    await conn.execute(
        """
        INSERT INTO participant_tokens (participant_id, purpose, token_hash, expires_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (token_hash) DO UPDATE
        SET expires_at = CASE WHEN participant_tokens.expires_at IS NULL OR excluded.expires_at IS NULL THEN NULL
                              ELSE greatest(participant_tokens.expires_at, excluded.expires_at) END
        WHERE participant_tokens.revoked_at IS NULL AND participant_tokens.participant_id = excluded.participant_id
        """,
        participant_id,
        purpose,
        token_hash(token),
        expires_at,
    )


async def ensure_many(conn: Connection, rows: list[tuple[UUID, StoredPurpose, str, datetime | None]]) -> None:
    """`ensure` for many (participant, purpose, token, expires_at) in one statement (a block of mails)."""
    if not rows:
        return
    # Sorted by hash: two senders ensuring overlapping tokens lock them in the same order.
    rows = sorted(rows, key=lambda r: token_hash(r[2]))
    await conn.execute(
        """
        INSERT INTO participant_tokens AS t (participant_id, purpose, token_hash, expires_at)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::timestamptz[])
        ON CONFLICT (token_hash) DO UPDATE
        SET expires_at = CASE WHEN t.expires_at IS NULL OR excluded.expires_at IS NULL THEN NULL
                              ELSE greatest(t.expires_at, excluded.expires_at) END
        WHERE t.revoked_at IS NULL AND t.participant_id = excluded.participant_id
        """,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [token_hash(r[2]) for r in rows],
        [r[3] for r in rows],
    )


async def consume(conn: Connection, token: str, purpose: StoredPurpose) -> UUID | None:
    """Spend a single-use token: its owner, or None when it is unknown, used, revoked or expired."""
    if not looks_like_token(token):
        return None
    value = await conn.fetchval(
        """
        UPDATE participant_tokens t SET revoked_at = now(), last_used_at = now()
        FROM participants p
        WHERE t.token_hash = $1 AND t.purpose = $2 AND t.revoked_at IS NULL
          AND (t.expires_at IS NULL OR t.expires_at > now()) AND p.id = t.participant_id AND p.erased_at IS NULL
        RETURNING t.participant_id
        """,
        token_hash(token),
        purpose,
    )
    return value if isinstance(value, UUID) else None


TokenState = Literal["valid", "expired", "used"]


async def state(conn: Connection, token: str, purpose: StoredPurpose) -> TokenState | None:
    """How a token stands, for a page that must say why a link no longer works; None for one we never made."""
    if not looks_like_token(token):
        return None
    row = await conn.fetchrow(
        """
        SELECT t.revoked_at IS NOT NULL OR p.erased_at IS NOT NULL AS used, t.expires_at <= now() AS expired
        FROM participant_tokens t JOIN participants p ON p.id = t.participant_id
        WHERE t.token_hash = $1 AND t.purpose = $2
        """,
        token_hash(token),
        purpose,
    )
    if row is None:
        return None
    return "used" if row["used"] else "expired" if row["expired"] else "valid"


async def resolve_token(
    conn: Connection, token: str, purpose: StoredPurpose, *, touch: bool = True
) -> ResolvedToken | None:
    """The token's owner, or None for unknown, revoked, expired, wrong-purpose tokens and erased participants."""
    if not looks_like_token(token):
        return None
    digest = token_hash(token)
    row = await conn.fetchrow(
        """
        SELECT t.id, t.participant_id, t.token_hash,
               t.last_used_at IS NULL OR t.last_used_at < now() - $3::interval AS stale,
               -- the owner becomes this transaction's actor for the audit log (services/audit)
               set_config('leerkring.actor', 'participant:' || t.participant_id::text, $4) AS actor
        FROM participant_tokens t JOIN participants p ON p.id = t.participant_id
        WHERE t.token_hash = $1 AND t.purpose = $2 AND t.revoked_at IS NULL
          AND (t.expires_at IS NULL OR t.expires_at > now()) AND p.erased_at IS NULL
        """,
        digest,
        purpose,
        TOUCH_INTERVAL,
        # local to the request's transaction; a connection without one resets it on release
        conn.is_in_transaction(),
    )
    if row is None or not hmac.compare_digest(row["token_hash"], digest):
        return None
    if touch and row["stale"]:
        await conn.execute("UPDATE participant_tokens SET last_used_at = now() WHERE id = $1", row["id"])
    return ResolvedToken(token_id=row["id"], participant_id=row["participant_id"])


async def resolve(conn: Connection, token: str, purpose: StoredPurpose) -> UUID | None:
    """The participant a token belongs to, or None (see resolve_token)."""
    resolved = await resolve_token(conn, token, purpose)
    return None if resolved is None else resolved.participant_id


async def revoke(conn: Connection, token: str) -> bool:
    """Revoke one token by its plain text; True when it was active."""
    row = await conn.fetchrow(
        "UPDATE participant_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL RETURNING id",
        token_hash(token),
    )
    return row is not None


async def revoke_id(conn: Connection, token_id: UUID) -> None:
    await conn.execute(
        "UPDATE participant_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", token_id
    )


async def revoke_all(conn: Connection, participant_id: UUID, purpose: StoredPurpose | None = None) -> int:
    """Revoke every active token of a participant (of one purpose, or all); returns how many."""
    rows = await conn.fetch(
        """
        UPDATE participant_tokens SET revoked_at = now()
        WHERE participant_id = $1 AND revoked_at IS NULL AND ($2::text IS NULL OR purpose = $2)
        RETURNING id
        """,
        participant_id,
        purpose,
    )
    return len(rows)


async def rotate(conn: Connection, participant_id: UUID, purpose: TokenPurpose) -> str:
    """Revoke all tokens of this purpose and issue a new one (API callers replacing their manage token)."""
    await revoke_all(conn, participant_id, purpose)
    return await issue(conn, participant_id, purpose)


def derive_feed(secret: str, participant_id: UUID, generation: int) -> str:
    return derive(secret, "feed", f"{participant_id}:{generation}")


async def feed_token(conn: Connection, secret: str, participant_id: UUID) -> str:
    """The participant's current feed token (derived, see the module docstring), recorded so that it works."""
    generation = await conn.fetchval("SELECT feed_generation FROM participants WHERE id = $1", participant_id)
    token = derive_feed(secret, participant_id, generation or 0)
    await ensure(conn, participant_id, "feed", token, expires_at=None)
    return token


async def rotate_feed(conn: Connection, secret: str, participant_id: UUID) -> str:
    """A new feed token; every earlier feed URL of this participant stops working."""
    await revoke_all(conn, participant_id, "feed")
    await conn.execute("UPDATE participants SET feed_generation = feed_generation + 1 WHERE id = $1", participant_id)
    return await feed_token(conn, secret, participant_id)


async def list_tokens(conn: Connection, participant_id: UUID) -> list[TokenInfo]:
    rows = await conn.fetch(
        """
        SELECT id, purpose, created_at, expires_at, last_used_at, revoked_at
        FROM participant_tokens WHERE participant_id = $1 ORDER BY created_at, id
        """,
        participant_id,
    )
    return [TokenInfo(**dict(r)) for r in rows]


async def purge_expired(conn: Connection) -> int:
    """Sweep: forget tokens a month after they expired or were revoked (until then a page can say why a link no
    longer works, instead of "unknown"). Feed tokens never expire; a rotated one goes a month after rotation."""
    status = await conn.execute(
        """
        DELETE FROM participant_tokens
        WHERE coalesce(least(expires_at, revoked_at), expires_at, revoked_at) < now() - interval '30 days'
        """
    )
    return int(status.split()[-1])
