"""What a worker process does besides running jobs, from start to stop.

Startup: the PostgreSQL pool, the mailer, the HTTP client for webhooks, the registration with its
liveness lock (workers/liveness.py), and three background loops:

    relay         outbox -> arq (workers/relay.py)
    maintenance   every `sweep_interval`: heartbeat, SWEEPS (scheduled work, ...), recovery of
                  crashed workers and lost jobs, and now and then the retention purge
    webhooks      attempts whose retry time has come (workers/jobs/webhooks.py)

Shutdown (after arq let running jobs finish or re-queued them), every step with its share of the grace
period (workers/stopping.py): close the mailer to new sends (a block of mails stops after the one on the wire and
hands the rest back untried), ask the loops to stop (they finish their current step, so no statement is cut
off), wait for shielded sends still on the wire, hand back any delivery this process still claims,
deregister, close. A loop or send that overruns its share is cancelled, twice, and then abandoned.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import asyncpg
import httpx
import msgspec

from services.db import create_pool
from services.observe import tracing
from services.retention.service import purge as retention_purge
from services.webhooks.transport import webhook_transport
from workers import probe
from workers.context import Ctx, ledger_pool_of, pool_of, redis_of, settings_of, tuning_of, worker_id_of
from workers.jobs.webhooks import USER_AGENT, retry_due
from workers.ledger import LedgerBatches
from workers.liveness import ControlConnection
from workers.mailer import mailer_for
from workers.mailgate import MailGate
from workers.recovery import purge, recover_dead_workers, requeue_lost_jobs
from workers.relay import CHANNEL, Relay
from workers.stopping import bounded, budget, stop_tasks
from workers.sweeps import SWEEPS, Sweep

log = logging.getLogger(__name__)
STARTED = "started"


async def startup(ctx: Ctx) -> None:
    settings, tuning = settings_of(ctx), tuning_of(ctx)
    dsn = settings.database_url or ""
    ctx["pool"] = await create_pool(dsn, min_size=2, max_size=tuning.pool_max, reset=_keep_session)
    ctx["ledger_pool"] = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=tuning.ledger_pool_max,
        server_settings={"synchronous_commit": "off"},
        reset=_keep_session,
    )
    if "mailer" not in ctx:
        ctx["mailer"] = mailer_for(settings.smtp_url, settings.var_dir / "mail", pool_size=min(16, tuning.max_jobs))
    ctx["mailgate"] = MailGate(first=tuning.mail_gate_first, cap=tuning.mail_gate_cap)
    ctx["http"] = httpx.AsyncClient(
        timeout=httpx.Timeout(tuning.webhook_timeout, connect=min(3.0, tuning.webhook_timeout)),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        transport=webhook_transport(
            httpx.Limits(max_connections=50, max_keepalive_connections=10),
            allow_private=settings.webhooks_may_reach_private,
        ),
    )
    ctx["inflight"] = set()
    ctx["stopping"] = asyncio.Event()
    ctx["ledger_batches"] = LedgerBatches(ctx)
    # Short jobs work in these, batched or alone (workers/ledger.py): arq's max_jobs counts arq jobs, a batch is one.
    ctx["job_slots"] = asyncio.Semaphore(tuning.max_jobs)
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
    ctx[probe.TICK] = time.monotonic()
    ctx["traced"] = tracing.configure(settings.otel_endpoint, "leerkring-worker")
    if tuning.metrics_port:
        ctx["probe"] = await probe.start(ctx, tuning.metrics_host, tuning.metrics_port)
    ctx[STARTED] = True  # last: whoever waits for a started worker (workers/testing.py) may use all of the above
    log.info("worker %s started (max_jobs=%d, poll_delay=%ss)", ctx["worker_id"], tuning.max_jobs, tuning.poll_delay)


async def _keep_session(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """The worker pools' reset on release. asyncpg has already rolled back a transaction left open; the worker's
    statements leave no other session state (no session advisory locks, cursors outside a transaction, LISTEN or
    SET: the liveness lock and LISTEN live on the control connection, workers/liveness.py), so the default reset
    (four commands, one round trip on every release: half of a no-op job's statements, one per mail) would find
    nothing. Keep it so: a job that needs session state takes a connection of its own."""


# Every job of this process has ended, so a claim it still holds is a send that never happened (or one whose
# outcome died with an abandoned send: the at-least-once window, as after a crash).
_RELEASE_OWN_CLAIMS = """
UPDATE deliveries SET status = 'queued', claimed_at = NULL, claimed_by = NULL
WHERE status = 'claimed' AND claimed_by = $1
"""


async def shutdown(ctx: Ctx) -> None:
    shares = budget(tuning_of(ctx))
    # First of all the mailer: a send under way finishes and is recorded, the next one (a block's rest) is handed
    # back untried. A block left to run on would be cut off when its share below is spent, perhaps between the
    # server's 250 and its record, and so be sent again by the next worker.
    if ctx.get("mailer") is not None:
        await bounded(ctx["mailer"].close(), min(3.0, shares.loops), "closing the mailer")
    stopping: asyncio.Event | None = ctx.get("stopping")
    if stopping is not None:
        stopping.set()
    relay: Relay | None = ctx.get("relay")
    if relay is not None:
        relay.stop()
    if await stop_tasks(ctx.get("loops", []), within=shares.loops, what="background loop(s)"):
        ctx["abandoned"] = True
    inflight: set[asyncio.Future[Any]] = ctx.get("inflight", set())
    if await stop_tasks(set(inflight), within=shares.sends, what="shielded send(s)"):
        ctx["abandoned"] = True
    loop = asyncio.get_running_loop()
    end = loop.time() + shares.cleanup

    def left(cap: float) -> float:
        return min(cap, end - loop.time())

    pool = ctx.get("pool")
    if pool is not None:
        await bounded(pool.execute(_RELEASE_OWN_CLAIMS, worker_id_of(ctx)), left(5.0), "handing back claims")
        control: ControlConnection | None = ctx.get("control")
        if control is not None:
            await bounded(control.stop(pool), left(5.0), "deregistering")
    if ctx.get("http") is not None:
        await bounded(ctx["http"].aclose(), left(3.0), "closing the HTTP client")
    for name in ("ledger_pool", "pool"):
        if ctx.get(name) is not None and not await bounded(ctx[name].close(), left(5.0), f"closing {name}"):
            ctx[name].terminate()
    probe.stop(ctx)  # last: until here /healthz said "stopping"
    tracing.stop_if(ctx.get("traced", False))  # flushes the spans still buffered
    log.info("worker %s stopped", worker_id_of(ctx))


def abandon(ctx: Ctx) -> None:
    """The shutdown overran its deadline: drop every connection at once (the process is about to exit)."""
    for name in ("ledger_pool", "pool"):
        if ctx.get(name) is not None:
            with contextlib.suppress(Exception):
                ctx[name].terminate()
    control: ControlConnection | None = ctx.get("control")
    if control is not None:
        control.terminate()


async def _safely(what: str, step: Awaitable[Any]) -> None:
    try:
        await step
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("%s failed; trying again on the next tick", what)


async def _maintenance(ctx: Ctx, control: ControlConnection) -> None:
    pool, redis, tuning, stopping = pool_of(ctx), redis_of(ctx), tuning_of(ctx), _stopping(ctx)
    last_purge = 0.0
    last_run: dict[Sweep, float] = {}
    while not stopping.is_set():
        started = time.monotonic()
        ctx[probe.TICK] = started  # the worker's /healthz: this loop still goes round (workers/probe.py)
        due = [s for s in SWEEPS if started - last_run.get(s, -s.every) >= s.every]
        last_run.update(dict.fromkeys(due, started))
        steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("control connection", control.check),
            ("heartbeat", lambda: control.heartbeat(ledger_pool_of(ctx))),
            *((f"sweep {sweep.name}", functools.partial(_in_transaction, ctx, sweep)) for sweep in due),
        ]
        if control.may_judge_others(tuning.dead_after):
            steps.append(("dead worker recovery", lambda: recover_dead_workers(pool, redis, tuning)))
        steps.append(("lost job check", lambda: requeue_lost_jobs(pool, redis, tuning)))
        if started - last_purge >= tuning.purge_interval:
            last_purge = started
            steps.append(("purge", lambda: purge(pool, tuning)))
            steps.append(("retention", lambda: _retention(ctx)))
        for what, step in steps:
            if stopping.is_set():
                return  # between two steps: nothing is cut off
            await _safely(what, step())
        await pause(stopping, tuning.sweep_interval - (time.monotonic() - started))


async def _retention(ctx: Ctx) -> None:
    """Personal data past its retention period (services/retention); a no-op when nothing is due."""
    async with pool_of(ctx).acquire() as conn:
        result = await retention_purge(conn, settings_of(ctx))
    if any(msgspec.structs.astuple(result)):
        log.info("retention: %s", result)


async def _in_transaction(ctx: Ctx, sweep: Sweep) -> None:
    async with pool_of(ctx).acquire() as conn, conn.transaction():
        await sweep.run(conn, settings_of(ctx))


async def _every(ctx: Ctx, what: str, step: Any) -> None:
    interval, stopping = tuning_of(ctx).sweep_interval, _stopping(ctx)
    while not stopping.is_set():
        started = time.monotonic()
        await _safely(what, step())
        await pause(stopping, interval - (time.monotonic() - started))


def _stopping(ctx: Ctx) -> asyncio.Event:
    return cast("asyncio.Event", ctx["stopping"])


async def pause(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep for `seconds`, or less when the worker is stopping. (asyncio.timeout, not wait_for: see stopping.py.)"""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(0.0, seconds)):
            await stopping.wait()
