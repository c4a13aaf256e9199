"""Liveness and readiness for load balancers and Kubernetes probes."""

from __future__ import annotations

import asyncio

from litestar import Controller, Response, get
from litestar.datastructures import State
from redis.exceptions import ConnectionError as RedisConnectionError

from services.db import Pool
from services.errors import database_unreachable

PROBE_SECONDS = 1.0


class HealthController(Controller):
    include_in_schema = False

    @get("/healthz")
    async def healthz(self) -> dict[str, str]:
        """The process answers; says nothing about its dependencies."""
        return {"status": "ok"}

    @get("/readyz")
    async def readyz(self, state: State) -> Response[dict[str, str]]:
        """Ready only when PostgreSQL and Redis both answer within a second; says which one does not."""
        pool: Pool = state.pool
        checks: dict[str, str] = {}

        async def database() -> None:
            async with pool.acquire(timeout=PROBE_SECONDS) as conn:
                await conn.fetchval("SELECT 1")

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
        ready = all(v == "ok" for v in checks.values())
        return Response({"status": "ok" if ready else "niet gereed", **checks}, status_code=200 if ready else 503)
