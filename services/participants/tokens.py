"""Personal participant tokens: manage links and calendar feeds.

A token is `lkp_` + 256 random bits (URL-safe). Only its SHA-256 is stored; with that much randomness a fast
hash is enough and an indexed lookup by hash is safe (a timing difference reveals at most a hash prefix, not
the token). The final comparison is constant-time anyway. Tokens are bound to one purpose, so a leaked feed URL
cannot manage registrations. They stay valid until revoked (or an optional expiry): manage links arrive by mail,
and mail scanners that open every link would burn a single-use link before the person ever clicked it.

The mailer issues a fresh manage token for each mail it sends; the API never returns a token to a caller that
has not proved who they are.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from schemas.participants import TokenInfo, TokenPurpose
from services.db import Connection

MARKER = "lkp_"
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


async def issue(
    conn: Connection, participant_id: UUID, purpose: TokenPurpose, *, expires_at: datetime | None = None
) -> str:
    """Create a token and return it in plain text; it cannot be shown again."""
    token = MARKER + secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO participant_tokens (participant_id, purpose, token_hash, expires_at) VALUES ($1, $2, $3, $4)",
        participant_id,
        purpose,
        token_hash(token),
        expires_at,
    )
    return token


async def resolve_token(
    conn: Connection, token: str, purpose: TokenPurpose, *, touch: bool = True
) -> ResolvedToken | None:
    """The token's owner, or None for unknown, revoked, expired, wrong-purpose tokens and erased participants."""
    if not looks_like_token(token):
        return None
    digest = token_hash(token)
    row = await conn.fetchrow(
        """
        SELECT t.id, t.participant_id, t.token_hash,
               t.last_used_at IS NULL OR t.last_used_at < now() - $3::interval AS stale
        FROM participant_tokens t JOIN participants p ON p.id = t.participant_id
        WHERE t.token_hash = $1 AND t.purpose = $2 AND t.revoked_at IS NULL
          AND (t.expires_at IS NULL OR t.expires_at > now()) AND p.erased_at IS NULL
        """,
        digest,
        purpose,
        TOUCH_INTERVAL,
    )
    if row is None or not hmac.compare_digest(row["token_hash"], digest):
        return None
    if touch and row["stale"]:
        await conn.execute("UPDATE participant_tokens SET last_used_at = now() WHERE id = $1", row["id"])
    return ResolvedToken(token_id=row["id"], participant_id=row["participant_id"])


async def resolve(conn: Connection, token: str, purpose: TokenPurpose) -> UUID | None:
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


async def revoke_all(conn: Connection, participant_id: UUID, purpose: TokenPurpose | None = None) -> int:
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
    """Revoke all tokens of this purpose and issue a new one (e.g. a feed URL that was shared by mistake)."""
    await revoke_all(conn, participant_id, purpose)
    return await issue(conn, participant_id, purpose)


async def list_tokens(conn: Connection, participant_id: UUID) -> list[TokenInfo]:
    rows = await conn.fetch(
        """
        SELECT id, purpose, created_at, expires_at, last_used_at, revoked_at
        FROM participant_tokens WHERE participant_id = $1 ORDER BY created_at, id
        """,
        participant_id,
    )
    return [TokenInfo(**dict(r)) for r in rows]
