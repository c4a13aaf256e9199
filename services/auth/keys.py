"""Bearer API keys for staff and funders: random, shown once, stored hashed, revocable.

A key looks like `lkr_<prefix>_<secret>`: the fixed `lkr_` marker lets secret scanners recognise a
leaked key, the prefix finds the row with one indexed lookup, and only a SHA-256 of the whole key is
stored. Keys carry 256 bits of randomness, so a fast hash is enough (no password stretching needed).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from uuid import UUID

from schemas.auth import ApiKey, Principal, Role
from services.audit import queries as audit
from services.db import Connection, required
from services.errors import InvalidInput, NotAuthenticated, NotFound

KEY_MARKER = "lkr"
ROLE_KINDS: dict[str, tuple[str, ...]] = {"organiser": ("organiser", "funder"), "funder": ("funder",)}

# last_used_at is for people reviewing keys ("which integration still uses this one?"), not an audit log.
TOUCH_AFTER = timedelta(hours=1)
_COLUMNS = "id, prefix, role, organisation_code, name, created_at, revoked_at, expires_at, last_used_at"


def _hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


async def create_key(
    conn: Connection,
    *,
    role: Role,
    organisation_code: str | None,
    name: str = "",
    expires_at: datetime | None = None,
) -> tuple[str, ApiKey]:
    """Create a key, valid until `expires_at` (None: until revoked); returns (plaintext, stored key). Raises
    InvalidInput when role and organisation do not fit."""
    if role == "admin":
        if organisation_code is not None:
            raise InvalidInput("Een beheerderssleutel hoort niet bij een organisatie", field="organisation_code")
    else:
        if organisation_code is None:
            raise InvalidInput(f"Een sleutel met rol {role} hoort bij een organisatie", field="organisation_code")
        kind = await conn.fetchval("SELECT kind FROM organisations WHERE code = $1", organisation_code)
        if kind is None:
            raise InvalidInput(f"Organisatie {organisation_code} bestaat niet", field="organisation_code")
        if kind not in ROLE_KINDS[role]:
            raise InvalidInput(
                f"Organisatie {organisation_code} ({kind}) kan geen sleutel met rol {role} krijgen",
                field="organisation_code",
            )
    prefix = secrets.token_hex(6)
    key = f"{KEY_MARKER}_{prefix}_{secrets.token_urlsafe(32)}"
    row = await conn.fetchrow(
        f"""
        INSERT INTO api_keys (prefix, secret_hash, role, organisation_code, name, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        RETURNING {_COLUMNS}
        """,
        prefix,
        _hash(key),
        role,
        organisation_code,
        name or "",
        expires_at,
    )
    created = ApiKey(**dict(required(row)))
    await audit.record(
        conn, "api_key.created", "api_key", str(created.id), {"role": role, "organisation": organisation_code}
    )
    return key, created


async def list_keys(conn: Connection) -> list[ApiKey]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, prefix")
    return [ApiKey(**dict(r)) for r in rows]


async def revoke_key(conn: Connection, prefix_or_id: str) -> ApiKey:
    """Revoke by prefix (or id); revoking twice keeps the first time. Raises NotFound for an unknown key."""
    key_id: UUID | None = None
    try:
        key_id = UUID(prefix_or_id)
    except ValueError:
        key_id = None
    row = await conn.fetchrow(
        f"""
        UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
        WHERE prefix = $1 OR id = $2
        RETURNING {_COLUMNS}
        """,
        prefix_or_id.removeprefix(f"{KEY_MARKER}_").split("_")[0],
        key_id,
    )
    if row is None:
        raise NotFound(f"Sleutel {prefix_or_id} bestaat niet")
    revoked = ApiKey(**dict(row))
    await audit.record(conn, "api_key.revoked", "api_key", str(revoked.id), {"role": revoked.role})
    return revoked


async def authenticate(conn: Connection, authorization: str | None) -> Principal:
    """Resolve an `Authorization: Bearer lkr_...` header. Raises NotAuthenticated, with the same answer for
    unknown, malformed and revoked keys so the response tells an attacker nothing."""
    if not authorization:
        raise NotAuthenticated("Geef een API-sleutel mee: Authorization: Bearer lkr_…")
    scheme, _, key = authorization.partition(" ")
    parts = key.strip().split("_", 2)
    if scheme.lower() != "bearer" or len(parts) != 3 or parts[0] != KEY_MARKER:
        raise NotAuthenticated("Ongeldige of ingetrokken API-sleutel")
    # The key's id and role also become this transaction's actor for the audit log (services/audit). Use is
    # recorded to the hour (TOUCH_AFTER), and only for the right secret of a live key, in the same statement.
    digest = _hash(key.strip())
    row = await conn.fetchrow(
        """
        WITH k AS (
            SELECT id, secret_hash, role, organisation_code,
                   revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) AS live,
                   last_used_at IS NULL OR last_used_at < now() - $4::interval AS stale
            FROM api_keys WHERE prefix = $1
        ), touched AS (
            UPDATE api_keys a SET last_used_at = now()
            FROM k WHERE a.id = k.id AND k.live AND k.stale AND k.secret_hash = $3
            RETURNING a.id
        )
        SELECT id, secret_hash, role, organisation_code, live,
               set_config('leerkring.actor', 'key:' || id::text || ':' || role, $2) AS actor
        FROM k
        """,
        parts[1],
        # Local to the request's transaction; a connection without one (registering) resets it on release.
        conn.is_in_transaction(),
        digest,
        TOUCH_AFTER,
    )
    if row is None or not row["live"] or not hmac.compare_digest(row["secret_hash"], digest):
        raise NotAuthenticated("Ongeldige of ingetrokken API-sleutel")
    return Principal(key_id=row["id"], role=row["role"], organisation_code=row["organisation_code"])


async def principal_for_key(conn: Connection, key_id: UUID) -> Principal | None:
    """The principal of a key that is still valid, for a signed page session bound to that key (none once revoked).
    Sets the audit actor like `authenticate`."""
    row = await conn.fetchrow(
        """
        SELECT id, role, organisation_code,
               set_config('leerkring.actor', 'key:' || id::text || ':' || role, $2) AS actor
        FROM api_keys WHERE id = $1 AND revoked_at IS NULL
        """,
        key_id,
        conn.is_in_transaction(),
    )
    if row is None:
        return None
    return Principal(key_id=row["id"], role=row["role"], organisation_code=row["organisation_code"])
