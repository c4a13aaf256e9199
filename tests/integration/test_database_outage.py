"""A PostgreSQL restart as the API's clients see it: 503 problem+json with Retry-After while the database is away,
never 500, and back to normal by itself. The database is a private embedded server stopped and started for real
(the shared server on 5432 serves other suites and must stay up)."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from localdev.embedded import EmbeddedPostgres
from services.app import create_app
from services.auth.keys import create_key
from services.db import Connection, connect
from services.migrate import migrate
from services.organisations.importer import import_reference_data
from services.settings import Settings
from tests.conftest import ROOT
from tests.factories import meeting_body
from tests.servers import api_process, leerkring_env
from workers.testing import wait_until

Client = AsyncTestClient  # type: ignore[type-arg]


@pytest.fixture
async def private_pg() -> AsyncIterator[EmbeddedPostgres]:
    # Under var/, not /tmp/pytest-of-root: see the data_dir fixture of test_embedded.py.
    folder = ROOT / "var" / f"test-outage-{uuid.uuid4().hex[:12]}"
    server = EmbeddedPostgres(folder, throwaway=True)
    dsn = await asyncio.to_thread(server.start)
    try:
        conn = await connect(dsn)
        try:
            await migrate(conn)
            await import_reference_data(conn)
        finally:
            await conn.close()
        yield server
    finally:
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(shutil.rmtree, folder, True)


@pytest.fixture
async def organiser(private_pg: EmbeddedPostgres) -> dict[str, str]:
    conn = await connect(private_pg.dsn)
    try:
        key, _ = await create_key(conn, role="organiser", organisation_code="VNG", name="storingstest")
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {key}"}


def outage_settings(dsn: str, redis_url: str, var_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"db_pool_min": 2, "db_pool_max": 5} | overrides
    return Settings(database_url=dsn, redis_url=redis_url, secret_key="storing", var_dir=var_dir, **values)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    problem = response.json()
    assert problem["status"] == 503
    assert problem["title"] == "Tijdelijk niet beschikbaar"
    assert "database is tijdelijk niet bereikbaar" in problem["detail"]


async def test_requests_during_a_restart_get_503_with_retry_after(
    private_pg: EmbeddedPostgres, organiser: dict[str, str], redis_url: str, tmp_path: Path
):
    async with AsyncTestClient(app=create_app(outage_settings(private_pg.dsn, redis_url, tmp_path))) as client:
        before = await client.post("/api/v1/meetings", json=meeting_body(title="Voor de storing"), headers=organiser)
        assert before.status_code == 201, before.text

        outage = private_pg.outage()
        await asyncio.to_thread(outage.__enter__)
        try:
            # The pool still holds connections the shutdown cut, and makes new ones that are refused: both paths.
            for _ in range(3):
                assert_unavailable(await client.get("/api/v1/meetings"))
                assert_unavailable(await client.get(f"/api/v1/meetings/{before.json()['id']}"))
                assert_unavailable(
                    await client.post("/api/v1/meetings", json=meeting_body(title="Tijdens"), headers=organiser)
                )
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json() == {
                "status": "niet gereed",
                "state": "database_down",
                "database": "onbereikbaar",
                "redis": "ok",
            }
        finally:
            await asyncio.to_thread(outage.__exit__, None, None, None)

        # Back by itself: no restart of the API, the pool reconnects.
        assert (await client.get("/readyz")).json()["status"] == "ok"
        after = await client.post("/api/v1/meetings", json=meeting_body(title="Na de storing"), headers=organiser)
        assert after.status_code == 201, after.text
        listed = await client.get("/api/v1/meetings", params={"status": "draft"}, headers=organiser)
        assert listed.status_code == 200
        titles = sorted(m["title"] for m in listed.json()["items"])
        assert titles == ["Na de storing", "Voor de storing"], "nothing answered 503 was written"


async def test_load_across_a_restart_sees_only_success_or_503(
    private_pg: EmbeddedPostgres, organiser: dict[str, str], redis_url: str, tmp_path: Path
):
    """Readers and writers keep going against `leerkring api` while PostgreSQL goes down and comes back: statements
    cut off mid-flight, refused connections and the recovery all answer 2xx or 503, and every acknowledged write
    is kept."""
    seen: Counter[tuple[int, str]] = Counter()
    created: list[str] = []
    stop = asyncio.Event()
    phase = "voor"
    progress = asyncio.Condition()

    async def record(response: httpx.Response) -> None:
        if response.status_code == 503:
            assert_unavailable(response)
        elif response.status_code == 201:
            created.append(response.json()["id"])
        async with progress:
            seen[response.status_code, phase] += 1
            progress.notify_all()

    async def reader(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            await record(await client.get("/api/v1/meetings"))

    async def writer(client: httpx.AsyncClient, n: int) -> None:
        while not stop.is_set():
            body = meeting_body(title=f"Belasting {n}-{len(created)}")
            await record(await client.post("/api/v1/meetings", json=body, headers=organiser))

    async def until(count: int, status: int, when: str) -> None:
        async with asyncio.timeout(90), progress:
            await progress.wait_for(lambda: seen[status, when] >= count)

    env = leerkring_env(database_url=private_pg.dsn, redis_url=redis_url, secret_key="storing", var_dir=str(tmp_path))
    async with (
        api_process(env, log=tmp_path / "api.log") as base,
        httpx.AsyncClient(base_url=base, timeout=30) as client,
    ):
        tasks = [asyncio.create_task(reader(client)) for _ in range(4)]
        tasks += [asyncio.create_task(writer(client, n)) for n in range(4)]
        try:
            await until(20, 201, "voor")
            outage = private_pg.outage()
            phase = "tijdens"
            await asyncio.to_thread(outage.__enter__)
            try:
                await until(100, 503, "tijdens")
            finally:
                phase = "herstart"
                await asyncio.to_thread(outage.__exit__, None, None, None)
            phase = "na"
            await until(20, 201, "na")
            await until(20, 200, "na")
        finally:
            stop.set()
            await asyncio.gather(*tasks)

    assert {status for status, _ in seen} <= {200, 201, 503}, dict(seen)
    conn = await connect(private_pg.dsn)
    try:
        kept = {str(i) for i in await conn.fetchval("SELECT array_agg(id) FROM meetings")}
    finally:
        await conn.close()
    assert set(created) <= kept, "an acknowledged write was lost"
    assert "unhandled error" not in await asyncio.to_thread((tmp_path / "api.log").read_text), "a 500 was logged"


async def test_no_free_connection_in_time_is_503(conn: Connection, database_url: str, redis_url: str, tmp_path: Path):
    """A pool that stays exhausted sheds requests with 503 + Retry-After instead of queueing them without end."""
    env = leerkring_env(
        database_url=database_url,
        redis_url=redis_url,
        secret_key="storing",
        var_dir=str(tmp_path),
        db_pool_min="1",
        db_pool_max="1",
        db_acquire_timeout="0.2",
    )
    async with (
        api_process(env, log=tmp_path / "api.log") as base,
        httpx.AsyncClient(base_url=base, timeout=30) as client,
    ):
        # The pool's only connection gets stuck behind a lock held here, as behind a slow statement.
        async with conn.transaction():
            await conn.execute("LOCK TABLE meetings IN ACCESS EXCLUSIVE MODE")
            stuck = asyncio.create_task(client.get("/api/v1/meetings"))

            async def waits_on_the_lock() -> bool:
                return bool(
                    await conn.fetchval(
                        "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'meetings'::regclass"
                    )
                )

            await wait_until(waits_on_the_lock, within=30)
            shed = await client.get("/api/v1/meetings")
            assert shed.status_code == 503, shed.text
            assert shed.headers["content-type"] == "application/problem+json"
            assert int(shed.headers["retry-after"]) > 0
        assert (await stuck).status_code == 200, "the waiting request goes on once the lock is gone"
        assert (await client.get("/api/v1/meetings")).status_code == 200
