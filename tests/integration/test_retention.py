"""Retention with a clock the test chooses: inactive people lose name and address, logs expire, and every
report gives the same figures after the purge as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from services.auth import staff
from services.db import Connection
from services.participants import tokens
from services.retention.service import purge
from services.settings import Settings
from tests.report_seed import email, meeting, register, seed

Client = AsyncTestClient  # type: ignore[type-arg]
URL = "/api/v1/reports/attendance"


async def reports(client: Client, headers: dict[str, str]) -> list[Any]:
    out = []
    for group in ("", "municipality", "month,professional_group", "theme"):
        answer = await client.get(URL, params={"year": "2026", "groupBy": group}, headers=headers)
        body = answer.json()
        body.pop("generated_at")
        out.append(body)
    return out


async def test_purge_two_years_on_keeps_reports_and_active_people(
    client: Client, keys: Any, conn: Connection, settings: Settings
):
    data = await seed(conn)
    aof = await keys.headers("funder", "AOF")
    # D1 has registered for a meeting in 2028: still active when the purge runs at the start of 2029
    later = await meeting(conn, "Later", "2028-06-01T10:00:00+02:00", 2)
    await register(conn, later, data.people["D1"])
    await tokens.issue(conn, data.people["D2"], "manage")
    await conn.execute(
        "INSERT INTO deliveries (key, kind, recipient, status) VALUES ('k1', 'confirmation', $1, 'sent')", email("D2")
    )
    sub = await conn.fetchval(
        "INSERT INTO webhook_subscriptions (url, secret) VALUES ('https://hooks.example.nl/x', 's') RETURNING id"
    )
    delivery = await conn.fetchval(
        "INSERT INTO webhook_deliveries (subscription_id, outbox_id, event_id, event_type, give_up_at) "
        "VALUES ($1, 1, gen_random_uuid(), 'meeting.published', now()) RETURNING id",
        sub,
    )
    await conn.execute(
        "INSERT INTO webhook_attempts (delivery_id, subscription_id, event_id, event_type, attempt, duration_ms, "
        "response_body) VALUES ($1, $2, gen_random_uuid(), 'meeting.published', 1, 5, 'echo: d2.geheim')",
        delivery, sub,
    )  # fmt: skip
    before = await reports(client, aof)

    today = await purge(conn, settings)
    assert today.participants == 0, "nobody is inactive yet"
    assert today.webhook_bodies == 0

    soon = await purge(conn, settings, now=datetime(2027, 2, 1, tzinfo=UTC))
    assert (soon.participants, soon.webhook_bodies, soon.deliveries) == (0, 1, 0)
    assert await conn.fetchval("SELECT response_body FROM webhook_attempts") is None

    result = await purge(conn, settings, now=datetime(2029, 1, 2, tzinfo=UTC))
    assert result.participants == len(data.people) - 1
    assert result.deliveries == 1
    rows = {r["id"]: r for r in await conn.fetch("SELECT id, name, email, organisation_code FROM participants")}
    assert rows[data.people["D1"]]["name"] == "Persoon D1 Vertrouwelijk", "still active"
    d2 = rows[data.people["D2"]]
    assert (d2["name"], d2["email"], d2["organisation_code"]) == ("Gewist", f"gewist+{data.people['D2']}@invalid",
                                                                   "GM0518")  # fmt: skip
    assert not await conn.fetchval("SELECT count(*) FROM participant_tokens WHERE participant_id = $1",
                                   data.people["D2"])  # fmt: skip
    assert await reports(client, aof) == before, "aggregates are the same after the purge"

    again = await purge(conn, settings, now=datetime(2029, 1, 2, tzinfo=UTC))
    assert again.participants == 0, "a purge that already ran does nothing"


async def test_purge_removes_organisers_sign_in_links_a_week_after_they_expired(
    conn: Connection, keys: Any, settings: Settings
):
    await keys.headers("organiser", "VNG")
    key_id = await conn.fetchval("SELECT id FROM api_keys WHERE organisation_code = 'VNG'")
    staff_id = await conn.fetchval(
        "INSERT INTO staff_addresses (key_id, email) VALUES ($1, 'organisator@vng.example.nl') RETURNING id", key_id
    )
    now = datetime.now(UTC)
    links = {
        "open": now + timedelta(minutes=20),
        "used": now + timedelta(minutes=20),
        "just expired": now - timedelta(hours=1),
        "expired long ago": now - timedelta(days=8),
        "used long ago": now - timedelta(days=8),
    }
    made = {name: tokens.derive(settings.secret_key, "test-staff", name) for name in links}
    for name, expires_at in links.items():
        await staff.record_link(conn, staff_id, made[name], expires_at)
    await conn.execute(
        "UPDATE staff_signin_tokens SET used_at = expires_at - interval '25 minutes' WHERE token_hash = ANY($1)",
        [tokens.token_hash(made["used"]), tokens.token_hash(made["used long ago"])],
    )

    result = await purge(conn, settings, now=now)
    assert result.staff_signin_tokens == 2
    states = {name: await staff.link_state(conn, token) for name, token in made.items()}
    assert states == {
        "open": "valid",
        "used": "used",  # kept while it could still be recorded again by a retried mail job
        "just expired": "expired",  # opened late, it still says so
        "expired long ago": None,
        "used long ago": None,
    }
    assert await conn.fetchval("SELECT count(*) FROM staff_addresses WHERE id = $1", staff_id) == 1
    assert (await purge(conn, settings, now=now)).staff_signin_tokens == 0
