"""Health, readiness, OpenAPI, migrations and API keys."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from services.auth.keys import authenticate, create_key, list_keys, revoke_key
from services.db import Connection, connect
from services.errors import InvalidInput, NotAuthenticated
from services.migrate import MigrationError, available_migrations, migrate
from tests.conftest import with_database
from tests.factories import meeting_body, participant_body

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_health_and_readiness(client: Client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "state": "ready", "database": "ok", "redis": "ok"}


async def test_a_browser_at_the_root_lands_on_the_agenda_and_a_client_gets_where_the_api_is(client: Client):
    browser = await client.get(
        "/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, follow_redirects=False
    )
    assert (browser.status_code, browser.headers["location"]) == (303, "/agenda")
    agenda = await client.get(browser.headers["location"])
    assert agenda.status_code == 200
    assert "text/html" in agenda.headers["content-type"]
    for accept in ("application/json", "*/*"):
        api = await client.get("/", headers={"Accept": accept})
        assert api.json() == {"naam": "Leerkring", "documentatie": "/schema", "api": "/api/v1"}


async def test_openapi_lists_the_meetings_api(client: Client):
    spec = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/meetings" in spec["paths"]
    assert "/api/v1/meetings/{meeting_id}/publish" in spec["paths"]
    assert (await client.get("/schema")).status_code == 200


async def test_migrations_from_empty(pg_admin_dsn: str):
    name = "lk_empty_migration_test"
    admin = await asyncpg.connect(pg_admin_dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await connect(with_database(pg_admin_dsn, name))
        try:
            applied = await migrate(conn)
            assert applied == [m.version for m in available_migrations()]
            assert await migrate(conn) == [], "a second run applies nothing"
            await conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = $1", applied[0])
            with pytest.raises(MigrationError, match="changed after it was applied"):
                await migrate(conn)
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_api_key_life_cycle(conn: Connection):
    key, stored = await create_key(conn, role="funder", organisation_code="BZK", name="rapportage")
    assert key.startswith(f"lkr_{stored.prefix}_")
    raw = await conn.fetchval("SELECT secret_hash FROM api_keys WHERE id = $1", stored.id)
    assert key.encode() not in raw, "only a hash is stored"
    principal = await authenticate(conn, f"Bearer {key}")
    assert (principal.role, principal.organisation_code) == ("funder", "BZK")
    assert [k.prefix for k in await list_keys(conn)] == [stored.prefix]
    await revoke_key(conn, stored.prefix)
    with pytest.raises(NotAuthenticated):
        await authenticate(conn, f"Bearer {key}")


@pytest.mark.parametrize(
    ("role", "organisation"),
    [("admin", "VNG"), ("organiser", None), ("funder", "VNG"), ("organiser", "GM0518"), ("organiser", "NOPE")],
)
async def test_api_key_must_fit_its_organisation(conn: Connection, role: str, organisation: str | None):
    with pytest.raises(InvalidInput):
        await create_key(conn, role=role, organisation_code=organisation)  # type: ignore[arg-type]


async def test_created_resources_say_where_they_live(client: Client, vng: dict[str, str], admin: dict[str, str]):
    made = await client.post("/api/v1/meetings", json=meeting_body(), headers=vng)
    assert made.status_code == 201
    assert (await client.get(made.headers["location"], headers=vng)).json()["id"] == made.json()["id"]
    await client.post(f"{made.headers['location']}/publish", headers=vng)
    registered = await client.post(
        f"/api/v1/meetings/{made.json()['id']}/registrations", json={"participant": participant_body(1)}, headers=vng
    )
    assert registered.status_code == 201
    assert (await client.get(registered.headers["location"], headers=vng)).json()["id"] == registered.json()["id"]
    body = {"code": "REG-TEST", "name": "Regio Test", "kind": "region"}
    organisation = await client.post("/api/v1/organisations", json=body, headers=admin)
    assert organisation.status_code == 201, organisation.text
    assert (await client.get(organisation.headers["location"])).json()["name"] == "Regio Test"
