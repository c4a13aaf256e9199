"""Liveness and readiness for load balancers and Kubernetes probes.

`/readyz` answers 200 only when this process can serve: PostgreSQL answers and carries every migration this code
needs, and Redis answers. Otherwise 503 with `state` saying why, for operators and probes alike:

    starting        PostgreSQL answers but the migrations of this release are not all applied (the migrate Job is
                    still running, or did not run): the old pods keep the traffic meanwhile
    database_down   PostgreSQL does not answer within a second (or refuses us)
    redis_down      Redis does not answer within a second
"""

from __future__ import annotations

import asyncio
import functools
import logging

import asyncpg
from litestar import Controller, Response, get
from litestar.datastructures import State
from redis.exceptions import ConnectionError as RedisConnectionError

from services.db import Pool, create_pool
from services.errors import database_unreachable
from services.migrate import available_migrations
from services.settings import Settings

log = logging.getLogger(__name__)

PROBE_SECONDS = 1.0
MIGRATED = "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)"


@functools.cache
def latest_migration() -> str:
    return available_migrations()[-1].version


async def start_pool(dsn: str, settings: Settings) -> Pool:
    """The API's pool. When PostgreSQL is not reachable at start, a pool that connects on first use instead of a
    process that exits: it answers /healthz at once and /readyz "database_down" until PostgreSQL is back, rather
    than crash-looping while the database starts or fails over."""
    try:
        return await create_pool(dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    except Exception as exc:  # any failure to connect at start: serve "not ready" instead of dying
        log.error("PostgreSQL not reachable at start (%s); /readyz says database_down until it is", type(exc).__name__)
        return await create_pool(dsn, min_size=0, max_size=settings.db_pool_max)


class HealthController(Controller):
    include_in_schema = False

    @get("/healthz")
    async def healthz(self) -> dict[str, str]:
        """The process answers; says nothing about its dependencies."""
        return {"status": "ok"}

    @get("/readyz")
    async def readyz(self, state: State) -> Response[dict[str, str]]:
        """Ready only when PostgreSQL (migrated) and Redis both answer within a second; says which one does not."""
        pool: Pool = state.pool
        checks: dict[str, str] = {}
        migrated = True

        async def database() -> None:
            nonlocal migrated
            async with pool.acquire(timeout=PROBE_SECONDS) as conn:
                try:
                    migrated = bool(await conn.fetchval(MIGRATED, latest_migration()))
                except asyncpg.UndefinedTableError:
                    migrated = False  # an empty database: not even the first migration ran

        for name, probe in (("database", database), ("redis", state.redis.ping)):
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation (CPython gh-86296).
                async with asyncio.timeout(PROBE_SECONDS):
                    await probe()
                checks[name] = "ok"
            except Exception as exc:  # any failure means "not ready"; the reason goes to the caller
                if name == "database":
                    unreachable = database_unreachable(exc)
                else:
                    unreachable = isinstance(exc, (RedisConnectionError, TimeoutError))
                checks[name] = "onbereikbaar" if unreachable else f"fout: {type(exc).__name__}"
        if checks["database"] == "ok" and not migrated:
            checks["database"] = "migraties ontbreken"
        if checks["database"] == "migraties ontbreken":
            readiness = "starting"
        elif checks["database"] != "ok":
            readiness = "database_down"
        elif checks["redis"] != "ok":
            readiness = "redis_down"
        else:
            readiness = "ready"
        ready = readiness == "ready"
        body = {"status": "ok" if ready else "niet gereed", "state": readiness, **checks}
        return Response(body, status_code=200 if ready else 503)
