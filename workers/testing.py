"""Running real workers inside a test or benchmark: same code as production, short intervals.

async with running_workers(settings, count=2, tuning=FAST) as workers:
    await wait_until(lambda: no_pending_jobs(pool), within=5)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import UUID, uuid4

from arq.worker import Worker

from schemas.events import MeetingPublished
from services.db import Connection, Pool
from services.outbox import emit
from services.settings import Settings
from workers.mailer import MailTransport
from workers.runner import build_worker
from workers.settings import WorkerTuning

# Everything that waits in production waits a few milliseconds here.
log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 20.0

FAST = WorkerTuning(
    poll_delay=0.01,
    max_jobs=10,
    job_timeout=10.0,
    keep_result=5.0,
    shutdown_wait=1.0,
    max_attempts=3,
    retry_base=0.05,
    retry_cap=0.2,
    relay_sweep_interval=0.25,
    sweep_interval=0.1,
    dead_after=0.5,
    lost_check_after=0.5,
    delivery_lease=30.0,
    webhook_retry_base=0.05,
    webhook_retry_cap=0.2,
    webhook_timeout=2.0,
    db_pool_max=8,
)


async def wait_until(condition: Callable[[], Awaitable[bool]], *, within: float = 5.0, interval: float = 0.02) -> None:
    """Poll `condition` (typically a query) until it holds; raises TimeoutError after `within` seconds."""
    async with asyncio.timeout(within):
        # The state lives in PostgreSQL, in other processes: there is no event to wait on, only rows to look at.
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(interval)


async def started(worker: Worker, task: asyncio.Task[None]) -> None:
    """Wait until the worker's startup ran (it has registered); re-raises a failed startup."""
    async with asyncio.timeout(15):
        while "loops" not in worker.ctx:
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
) -> AsyncIterator[list[Worker]]:
    """Start `count` workers (the first `relays` of them with a relay, default all) and stop them afterwards."""
    relays = count if relays is None else relays
    workers = [
        build_worker(settings, tuning, mailer=mailer, run_relay=i < relays, handle_signals=False) for i in range(count)
    ]
    tasks = [asyncio.create_task(w.async_run()) for w in workers]
    try:
        for worker, task in zip(workers, tasks, strict=True):
            await started(worker, task)
        yield workers
    finally:
        for worker in workers:
            with contextlib.suppress(Exception):
                await worker.close()
        # Like a process manager after its grace period: a worker that has not stopped by then is killed. Our
        # design is crash-safe, so the tests' exactly-once assertions still hold; the hang itself is a known open
        # issue (a shutdown during an invitation fan-out sometimes does not finish), logged so it stays visible.
        _, hanging = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)
        if hanging:
            log.warning("%d worker(s) did not stop within %s s; cancelled", len(hanging), SHUTDOWN_GRACE_SECONDS)
            for task in hanging:
                task.cancel()
            await asyncio.gather(*hanging, return_exceptions=True)


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
