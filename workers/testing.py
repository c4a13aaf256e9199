"""Running real workers inside a test or benchmark: same code as production, short intervals.

async with running_workers(settings, count=2, tuning=FAST) as workers:
    await wait_until(lambda: no_pending_jobs(pool), within=5)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from uuid import UUID, uuid4

from schemas.events import EVENT_TYPES, MeetingPublished
from services.db import Connection, Pool
from services.outbox import emit
from services.settings import Settings
from workers.arq_internals import LeerkringWorker
from workers.lifecycle import STARTED
from workers.mailer import MailTransport
from workers.routes import ROUTES, WEBHOOK_ONLY
from workers.runner import build_worker
from workers.settings import WorkerTuning
from workers.stopping import stop_tasks

log = logging.getLogger(__name__)

# Everything that waits in production waits a few milliseconds here.
FAST = WorkerTuning(
    poll_delay=0.01,
    max_jobs=10,
    job_timeout=10.0,
    keep_result=5.0,
    shutdown_wait=1.0,
    # The harness below gives workers this long to stop, as a process manager would (deploy/ uses 60 s).
    stop_grace=30.0,
    max_attempts=3,
    retry_base=0.05,
    retry_cap=0.2,
    relay_sweep_interval=0.25,
    sweep_interval=0.1,
    dead_after=0.5,
    lost_check_after=0.5,
    delivery_lease=30.0,
    mail_gate_first=0.05,
    mail_gate_cap=0.5,
    mail_wait=3.0,
    mail_retry_base=0.1,
    mail_retry_cap=0.5,
    webhook_retry_base=0.05,
    webhook_retry_cap=0.2,
    webhook_timeout=2.0,
    # Small pools: two copies of the suite run side by side on one PostgreSQL (max_connections 100), each with two
    # xdist processes whose tests start two workers next to the app's pool of 5.
    db_pool_max=5,
    ledger_pool_max=2,
)


async def wait_until(condition: Callable[[], Awaitable[bool]], *, within: float = 5.0, interval: float = 0.02) -> None:
    """Poll `condition` (typically a query) until it holds; raises TimeoutError after `within` seconds."""
    async with asyncio.timeout(within):
        # The state lives in PostgreSQL, in other processes: there is no event to wait on, only rows to look at.
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(interval)


async def started(worker: LeerkringWorker, task: asyncio.Task[None]) -> None:
    """Wait until the worker's startup has run to its end (registered, loops and probe up); re-raises a failed
    startup. (Waiting for its loops alone raced the probe port: a test found nothing listening yet.)"""
    async with asyncio.timeout(15):
        while not worker.ctx.get(STARTED):
            if task.done():
                task.result()
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running_workers(
    settings: Settings,
    *,
    count: int = 1,
    tuning: WorkerTuning = FAST,
    mailer: MailTransport | None = None,
    relays: int | None = None,
) -> AsyncIterator[list[LeerkringWorker]]:
    """Start `count` workers (the first `relays` of them with a relay, default all) and stop them afterwards.

    Stopping is held to `tuning.stop_grace`, close() included: a worker that has not stopped by then is cancelled
    like a process manager would kill it, and the test fails (unless it failed already), with every task's stack
    in the log. So does a worker whose shutdown had to abandon a task that would not stop.
    """
    relays = count if relays is None else relays
    workers = [
        build_worker(settings, tuning, mailer=mailer, run_relay=i < relays, handle_signals=False) for i in range(count)
    ]
    tasks = [asyncio.create_task(w.async_run(), name=f"worker {i}") for i, w in enumerate(workers)]
    failed = False
    try:
        for worker, task in zip(workers, tasks, strict=True):
            await started(worker, task)
        yield workers
    except BaseException:
        failed = True
        raise
    finally:
        closing = [asyncio.create_task(w.close(), name=f"closing worker {i}") for i, w in enumerate(workers)]
        hung = await stop_tasks([*closing, *tasks], within=tuning.stop_grace, what="worker(s) in a test")
        unclean = sum(not w.clean for w in workers)
        if (hung or unclean) and not failed:
            raise AssertionError(
                f"{len(hung)} worker task(s) did not stop within {tuning.stop_grace}s and {unclean} worker(s) "
                "abandoned a task while stopping; the stacks are in the log"
            )


def route_only(routes: Mapping[str, tuple[str, ...]]) -> None:
    """For a test or benchmark process of its own: only these routes; every other event type is webhook-only."""
    ROUTES.clear()
    ROUTES.update(routes)
    WEBHOOK_ONLY.clear()
    WEBHOOK_ONLY.update({t: "not routed in this test" for t in EVENT_TYPES if not routes.get(t)})


async def no_pending_jobs(db: Pool | Connection) -> bool:
    return await pending_jobs(db) == 0


async def pending_jobs(db: Pool | Connection) -> int:
    """Ledger rows not yet done (or dead), plus events the relay has not taken yet."""
    value = await db.fetchval(
        "SELECT (SELECT count(*) FROM event_jobs WHERE status = 'pending')"
        " + (SELECT count(*) FROM outbox WHERE published_at IS NULL)"
    )
    return int(value or 0)


async def emit_published(conn: Connection, count: int = 1, *, aggregate_id: UUID | None = None) -> list[int]:
    """Commit `count` meeting.published events (for made-up meetings) in one transaction; returns their outbox ids."""
    event_ids = []
    async with conn.transaction():
        for _ in range(count):
            meeting_id = aggregate_id or uuid4()
            event_ids.append(
                await emit(conn, meeting_id, MeetingPublished(meeting_id=meeting_id, sequence=0, revision=1))
            )
        rows = await conn.fetch("SELECT id FROM outbox WHERE event_id = ANY($1::uuid[])", event_ids)
    return sorted(int(r["id"]) for r in rows)
