"""What a worker process does besides running jobs, from start to stop.

Startup: the PostgreSQL pool, the mailer, the HTTP client for webhooks, the registration with its
liveness lock (workers/liveness.py), and three background loops:

    relay         outbox -> arq (workers/relay.py)
    maintenance   every `sweep_interval`: heartbeat, SWEEPS (scheduled work, ...), recovery of
                  crashed workers and lost jobs, and now and then the retention purge
    webhooks      attempts whose retry time has come (workers/jobs/webhooks.py)

Shutdown (after arq let running jobs finish or re-queued them): stop the loops, wait for shielded
sends still on the wire, hand back any delivery this process still claims, deregister, close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from typing import Any

import asyncpg
import httpx

from services.db import create_pool
from workers.context import Ctx, ledger_pool_of, pool_of, redis_of, settings_of, tuning_of, worker_id_of
from workers.jobs.webhooks import USER_AGENT, retry_due
from workers.liveness import ControlConnection
from workers.mailer import mailer_for
from workers.recovery import purge, recover_dead_workers, requeue_lost_jobs
from workers.relay import CHANNEL, Relay
from workers.sweeps import SWEEPS

log = logging.getLogger(__name__)


async def startup(ctx: Ctx) -> None:
    settings, tuning = settings_of(ctx), tuning_of(ctx)
    dsn = settings.database_url or ""
    ctx["pool"] = await create_pool(dsn, min_size=2, max_size=tuning.pool_max)
    ctx["ledger_pool"] = await asyncpg.create_pool(
        dsn, min_size=1, max_size=tuning.ledger_pool_max, server_settings={"synchronous_commit": "off"}
    )
    if "mailer" not in ctx:
        ctx["mailer"] = mailer_for(settings.smtp_url, settings.var_dir / "mail", pool_size=min(16, tuning.max_jobs))
    ctx["http"] = httpx.AsyncClient(
        timeout=httpx.Timeout(tuning.webhook_timeout, connect=min(3.0, tuning.webhook_timeout)),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
    )
    ctx["inflight"] = set()
    control = ControlConnection(dsn)
    ctx["control"] = control
    ctx["worker_id"] = await control.start()
    loops: list[asyncio.Task[None]] = []
    if ctx.get("run_relay", True):
        relay = Relay(ledger_pool_of(ctx), redis_of(ctx), tuning)
        ctx["relay"] = relay
        await control.listen(CHANNEL, relay.notify)
        loops.append(asyncio.create_task(relay.run(), name="relay"))
    loops.append(asyncio.create_task(_maintenance(ctx, control), name="maintenance"))
    loops.append(asyncio.create_task(_every(ctx, "webhook retries", lambda: retry_due(ctx)), name="webhooks"))
    ctx["loops"] = loops
    log.info("worker %s started (max_jobs=%d, poll_delay=%ss)", ctx["worker_id"], tuning.max_jobs, tuning.poll_delay)


async def shutdown(ctx: Ctx) -> None:
    loops: list[asyncio.Task[None]] = ctx.get("loops", [])
    for task in loops:
        task.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    inflight: set[asyncio.Future[Any]] = ctx.get("inflight", set())
    if inflight:
        await asyncio.wait(inflight, timeout=60)
    pool = ctx.get("pool")
    if pool is not None:
        # Every job of this process has ended, so a claim still held is a send that never happened.
        with contextlib.suppress(Exception):
            await pool.execute(
                "UPDATE deliveries SET status = 'queued', claimed_at = NULL, claimed_by = NULL "
                "WHERE status = 'claimed' AND claimed_by = $1",
                worker_id_of(ctx),
            )
        control: ControlConnection | None = ctx.get("control")
        if control is not None:
            await control.stop(pool)
    for name in ("mailer", "http"):
        resource = ctx.get(name)
        if resource is not None:
            with contextlib.suppress(Exception):
                await (resource.close() if name == "mailer" else resource.aclose())
    for name in ("ledger_pool", "pool"):
        if ctx.get(name) is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ctx[name].close(), 10)
    log.info("worker %s stopped", worker_id_of(ctx))


async def _safely(what: str, step: Awaitable[Any]) -> None:
    try:
        await step
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("%s failed; trying again on the next tick", what)


async def _maintenance(ctx: Ctx, control: ControlConnection) -> None:
    pool, redis, tuning = pool_of(ctx), redis_of(ctx), tuning_of(ctx)
    last_purge = 0.0
    while True:
        started = time.monotonic()
        await _safely("control connection", control.check())
        await _safely("heartbeat", control.heartbeat(ledger_pool_of(ctx)))
        for sweep in SWEEPS:
            await _safely(f"sweep {sweep.__qualname__}", _in_transaction(ctx, sweep))
        if control.may_judge_others(tuning.dead_after):
            await _safely("dead worker recovery", recover_dead_workers(pool, redis, tuning))
        await _safely("lost job check", requeue_lost_jobs(pool, redis, tuning))
        if started - last_purge >= tuning.purge_interval:
            last_purge = started
            await _safely("purge", purge(pool, tuning))
        await asyncio.sleep(max(0.0, tuning.sweep_interval - (time.monotonic() - started)))


async def _in_transaction(ctx: Ctx, sweep: Any) -> None:
    async with pool_of(ctx).acquire() as conn, conn.transaction():
        await sweep(conn)


async def _every(ctx: Ctx, what: str, step: Any) -> None:
    interval = tuning_of(ctx).sweep_interval
    while True:
        started = time.monotonic()
        await _safely(what, step())
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
