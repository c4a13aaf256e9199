"""Test infrastructure: real PostgreSQL and Redis, on 127.0.0.1 when they answer, embedded otherwise.

Every xdist worker migrates its own template database once; every test gets a fresh clone of it
(CREATE DATABASE ... TEMPLATE, ~25 ms), so tests commit for real, LISTEN/NOTIFY works and nothing
leaks between tests. Redis: a private server per test process (never the shared 127.0.0.1:6379), so
two suites can run side by side on one machine; it is flushed before each test.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from localdev.mailsink import MailSink
from schemas.auth import Role
from services.app import create_app
from services.auth.keys import create_key
from services.db import Connection, connect
from services.migrate import migrate
from services.organisations.importer import import_reference_data
from services.settings import Settings
from tests.csrf import like_a_browser

ROOT = Path(__file__).resolve().parent.parent
_counter = itertools.count()
# Run the suite on the embedded servers even where 127.0.0.1 has its own, as a machine without them would.
FORCE_EMBEDDED = os.environ.get("LEERKRING_TEST_EMBEDDED") == "1"


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def port_open(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


@pytest.fixture(scope="session")
def pg_admin_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("LEERKRING_TEST_DATABASE_URL"):
        yield os.environ["LEERKRING_TEST_DATABASE_URL"]
    elif port_open("127.0.0.1", 5432) and not FORCE_EMBEDDED:
        yield "postgresql://postgres@127.0.0.1:5432/postgres"
    else:
        from localdev.embedded import EmbeddedPostgres

        server = EmbeddedPostgres(ROOT / "var" / f"test-pg-{_worker()}", throwaway=True)
        try:
            yield with_database(server.start(), "postgres")
        finally:
            server.stop()


@pytest.fixture(scope="session")
async def template_db(pg_admin_dsn: str) -> AsyncIterator[str]:
    name = f"lk_tpl_{_worker()}_{os.getpid()}"
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        conn = await connect(with_database(pg_admin_dsn, name))
        try:
            await migrate(conn)
            await import_reference_data(conn)
        finally:
            await conn.close()
        yield name
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url(pg_admin_dsn: str, template_db: str) -> AsyncIterator[str]:
    """A fresh, migrated database with the reference data, dropped after the test."""
    name = f"lk_t_{_worker()}_{os.getpid()}_{next(_counter)}"
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        yield with_database(pg_admin_dsn, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def redis_url(private_redis: str) -> str:
    """Database 1 of this test process's private Redis, flushed before the test (workers use database 0)."""
    parts = urlsplit(private_redis)
    url = urlunsplit((parts.scheme, parts.netloc, "/1", parts.query, parts.fragment))
    client = Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    return url


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        base_url="https://leerkring.test",
        secret_key="test-secret",
        var_dir=tmp_path,
        db_pool_min=1,
        db_pool_max=5,
        max_body_bytes=65_536,
        webhook_allow_private=True,  # the tests' webhook receivers listen on 127.0.0.1
    )


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server for this test process alone. The machine's Redis on 127.0.0.1:6379 is shared with every
    other suite and benchmark running here: arq job ids derive from outbox ids (every test database counts from
    1), and a FLUSHALL there would reach other sessions. LEERKRING_TEST_REDIS_URL names one to use instead."""
    if os.environ.get("LEERKRING_TEST_REDIS_URL"):
        yield os.environ["LEERKRING_TEST_REDIS_URL"]
        return
    from localdev.embedded import EmbeddedRedis

    server = EmbeddedRedis(tmp_path_factory.mktemp("private-redis"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
async def worker_settings(settings: Settings, private_redis: str) -> Settings:
    """`settings` on the private Redis, flushed before the test."""
    client = Redis.from_url(private_redis)
    await client.flushall()
    await client.aclose()
    return msgspec.structs.replace(settings, redis_url=private_redis)


@pytest.fixture
def mail_settings(worker_settings: Settings, mail_sink: MailSink) -> Settings:
    """`worker_settings` sending to the in-process SMTP server of `mail_sink`."""
    return msgspec.structs.replace(worker_settings, smtp_url=mail_sink.url)


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[MailSink]:
    """An in-process SMTP server that keeps every message (`.messages`, `wait_for(count, timeout)`)."""
    with MailSink(tmp_path / "sink") as sink:
        yield sink


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[Connection]:
    connection = await connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield like_a_browser(test_client, settings.secret_key)


class Keys:
    """Creates API keys in the test database and hands out ready Authorization headers."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def headers(self, role: Role, organisation_code: str | None = None) -> dict[str, str]:
        key, _ = await create_key(self._conn, role=role, organisation_code=organisation_code, name=f"test {role}")
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def keys(conn: Connection) -> Keys:
    return Keys(conn)


@pytest.fixture
async def admin(keys: Keys) -> dict[str, str]:
    return await keys.headers("admin")


@pytest.fixture
async def vng(keys: Keys) -> dict[str, str]:
    """An organiser key of VNG."""
    return await keys.headers("organiser", "VNG")


@pytest.fixture
async def bzk(keys: Keys) -> dict[str, str]:
    """A funder key of BZK."""
    return await keys.headers("funder", "BZK")
