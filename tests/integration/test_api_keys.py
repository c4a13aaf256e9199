"""API keys (issue 11): an optional expiry, after which a key answers like a revoked one, and `last_used_at`, kept
to the hour so a busy key does not write on every request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient

from services.auth import keys
from services.db import Connection

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_an_expired_key_is_refused_like_a_revoked_one_and_use_is_recorded_hourly(
    client: Client, conn: Connection
) -> None:
    now = datetime.now(UTC)
    old, _ = await keys.create_key(conn, role="organiser", organisation_code="VNG", expires_at=now - timedelta(days=1))
    live, stored = await keys.create_key(
        conn, role="organiser", organisation_code="VNG", name="koppeling", expires_at=now + timedelta(days=90)
    )
    assert stored.expires_at is not None
    assert stored.last_used_at is None
    expired = await client.get("/api/v1/audience-lists", headers={"Authorization": f"Bearer {old}"})
    revoked_answer = await client.get("/api/v1/audience-lists", headers={"Authorization": "Bearer lkr_abc_def"})
    assert expired.status_code == 401
    assert expired.json()["detail"] == revoked_answer.json()["detail"], "expired tells no more than unknown"

    assert (await client.get("/api/v1/audience-lists", headers={"Authorization": f"Bearer {live}"})).status_code == 200
    first = await conn.fetchval("SELECT last_used_at FROM api_keys WHERE id = $1", stored.id)
    assert first is not None
    assert (await client.get("/api/v1/audience-lists", headers={"Authorization": f"Bearer {live}"})).status_code == 200
    assert await conn.fetchval("SELECT last_used_at FROM api_keys WHERE id = $1", stored.id) == first, "hourly"
    await conn.execute("UPDATE api_keys SET last_used_at = now() - interval '2 hours' WHERE id = $1", stored.id)
    assert (await client.get("/api/v1/audience-lists", headers={"Authorization": f"Bearer {live}"})).status_code == 200
    assert await conn.fetchval(
        "SELECT last_used_at > now() - interval '1 minute' FROM api_keys WHERE id = $1", stored.id
    )
    listed = {k.prefix: k for k in await keys.list_keys(conn)}
    assert listed[stored.prefix].last_used_at is not None
    wrong = live[:-4] + "AAAA"
    await conn.execute("UPDATE api_keys SET last_used_at = NULL WHERE id = $1", stored.id)
    assert (await client.get("/api/v1/audience-lists", headers={"Authorization": f"Bearer {wrong}"})).status_code == 401
    assert await conn.fetchval("SELECT last_used_at FROM api_keys WHERE id = $1", stored.id) is None, (
        "a wrong secret with the right prefix records no use"
    )
