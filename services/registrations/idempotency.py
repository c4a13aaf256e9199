"""Idempotency-Key for POST: a retried request gets the first answer instead of doing the work again.

The key is claimed first, in the same transaction as the work, and the answer is stored before commit. A
second request with the same key that arrives while the first is still running blocks on the primary key until
the first commits, then finds its answer (or, when the first rolled back, claims the key and does the work
itself). Same key with a different body: 422, as the IETF draft on the Idempotency-Key header recommends. Keys
are scoped to the caller, so two callers cannot collide or read each other's answers, and are kept for a day.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import msgspec

from services.db import Connection
from services.errors import InvalidInput

KEEP = timedelta(hours=24)


class Replay(msgspec.Struct, frozen=True, kw_only=True):
    status_code: int
    body: Any


def request_hash(*parts: Any) -> bytes:
    """Hash of the decoded request: formatting and key order of the JSON do not matter, values do."""
    return hashlib.sha256(msgspec.json.encode(list(parts))).digest()


async def begin(conn: Connection, scope: str, key: str, digest: bytes) -> Replay | None:
    """Claim the key before doing the work; returns the stored answer when the request was done already.
    A concurrent request holding the key makes this wait for its commit. Raises InvalidInput for a reused key."""
    claimed = await conn.fetchval(
        """
        INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3)
        ON CONFLICT (scope, key) DO UPDATE
            SET request_hash = excluded.request_hash, status_code = NULL, response = NULL, created_at = now()
            WHERE idempotency_keys.created_at <= now() - $4::interval
        RETURNING true
        """,
        scope,
        key,
        digest,
        KEEP,
    )
    if claimed:
        return None
    row = await conn.fetchrow(
        "SELECT request_hash, status_code, response FROM idempotency_keys WHERE scope = $1 AND key = $2", scope, key
    )
    if row is None or row["status_code"] is None:
        raise RuntimeError("idempotency key without an answer")
    if row["request_hash"] != digest:
        raise InvalidInput(
            "Deze Idempotency-Key is al gebruikt voor een ander verzoek; kies een nieuwe sleutel",
            field="Idempotency-Key",
        )
    return Replay(status_code=row["status_code"], body=row["response"])


async def finish(conn: Connection, scope: str, key: str, status_code: int, body: Any) -> None:
    """Store the answer with the work, in the same transaction."""
    await conn.execute(
        "UPDATE idempotency_keys SET status_code = $3, response = $4::jsonb WHERE scope = $1 AND key = $2",
        scope,
        key,
        status_code,
        msgspec.json.encode(body).decode(),
    )


async def purge_idempotency_keys(conn: Connection) -> int:
    """Sweep: forget keys older than a day."""
    status = await conn.execute("DELETE FROM idempotency_keys WHERE created_at <= now() - $1::interval", KEEP)
    return int(status.split()[-1])
