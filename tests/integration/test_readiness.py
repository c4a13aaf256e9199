"""/readyz tells "starting", "database_down" and "redis_down" apart, with real servers that stop or never were:
a private redis-server stopped mid-test, a DSN where nothing listens, a database the migrations have not reached."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import msgspec
from litestar.testing import AsyncTestClient

from localdev.embedded import EmbeddedRedis
from services.app import create_app
from services.db import connect
from services.migrate import migrate
from services.settings import Settings
from tests.conftest import with_database
from tests.servers import free_port


async def test_a_stopped_redis_is_redis_down(settings: Settings, tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    try:
        app = create_app(msgspec.structs.replace(settings, redis_url=url))
        async with AsyncTestClient(app=app) as client:
            ready = await client.get("/readyz")
            assert (ready.status_code, ready.json()["state"]) == (200, "ready")
            server.stop()
            down = await client.get("/readyz")
            assert down.status_code == 503
            assert down.json() == {
                "status": "niet gereed",
                "state": "redis_down",
                "database": "ok",
                "redis": "onbereikbaar",
            }
            assert (await client.get("/healthz")).status_code == 200, "liveness says nothing about Redis"
            metrics = await client.get("/metrics")
            assert metrics.status_code == 200, "a scrape still answers"
            assert 'leerkring_backbone_up{part="redis"} 0.0' in metrics.text
            assert 'leerkring_backbone_up{part="database"} 1.0' in metrics.text
    finally:
        server.stop()


async def test_an_unreachable_database_is_database_down_and_the_process_still_starts(settings: Settings) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/leerkring"
    async with AsyncTestClient(app=create_app(msgspec.structs.replace(settings, database_url=nowhere))) as client:
        assert (await client.get("/healthz")).status_code == 200
        down = await client.get("/readyz")
        assert down.status_code == 503
        assert down.json() == {
            "status": "niet gereed",
            "state": "database_down",
            "database": "onbereikbaar",
            "redis": "ok",
        }
        # Requests that need the database say so, as during an outage (services/errors.py), rather than a 500.
        meetings = await client.get("/api/v1/meetings")
        assert meetings.status_code == 503
        assert "retry-after" in meetings.headers


async def test_a_database_without_this_releases_migrations_is_starting(settings: Settings, pg_admin_dsn: str) -> None:
    name = f"lk_readiness_{free_port()}"
    admin = await asyncpg.connect(pg_admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = with_database(pg_admin_dsn, name)
        async with AsyncTestClient(app=create_app(msgspec.structs.replace(settings, database_url=dsn))) as client:
            empty = await client.get("/readyz")
            assert empty.status_code == 503
            assert (empty.json()["state"], empty.json()["database"]) == ("starting", "migraties ontbreken")
            conn = await connect(dsn)
            try:
                await migrate(conn)
            finally:
                await conn.close()
            ready = await client.get("/readyz")
            assert (ready.status_code, ready.json()["state"]) == (200, "ready")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
