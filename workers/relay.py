"""The outbox relay: committed events become arq jobs.

It wakes on `NOTIFY outbox` (sent by services.outbox.emit, delivered by PostgreSQL only on commit)
and sweeps every `relay_sweep_interval` seconds anyway, in case a notification was missed (e.g.
while the connection was being re-established). One batch is one statement (its own transaction, one
round trip):

    claim   up to `relay_batch` unpublished rows, oldest first, FOR UPDATE SKIP LOCKED
    ledger  one `event_jobs` row per routed job, and the rows marked published
then it enqueues the jobs in one Redis round trip (workers/enqueue.py), job id `{name}:{outbox_id}`. When jobs queue
up in Redis (the workers do not keep up), the events of one short job share arq jobs (`name(id, id, ...)`,
id `{name}:{smallest id}`, at most `job_batch` events each): arq's own bookkeeping, a dozen Redis commands per
job, is then paid once per batch. The ledger still has one row per event (workers/ledger.py: execute_batch).

Enqueueing after the commit means a crash in between leaves ledger rows whose jobs never reached
Redis; the maintenance loop finds and enqueues them (workers/recovery.py), as it does after a
FLUSHALL. Enqueueing before the commit could instead run a job whose ledger row does not exist yet.

Several relays may run side by side (one per worker process): SKIP LOCKED hands each a disjoint
batch. Guarantees: every committed event is enqueued, at least once, for every job routed to it; a
rolled-back event never is. Within one batch jobs are enqueued in outbox order, but batches of two
relays interleave and jobs run concurrently, so execution order is not guaranteed. A job that needs
per-aggregate order declares `@job(ordered=True)` (workers/ledger.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from arq.connections import ArqRedis

from services.db import Pool
from services.observe.metrics import OUTBOX_PUBLISHED
from workers.arq_internals import ready_jobs
from workers.enqueue import QueuedJob, enqueue_many
from workers.registry import JOBS
from workers.routes import route_arrays
from workers.settings import WorkerTuning

log = logging.getLogger(__name__)

CHANNEL = "outbox"
READY_EVERY = 0.05

# One statement, so one round trip and its own transaction: claim a batch, mark it published, and write one ledger
# row per routed job ($2/$3: the (event type, job) pairs of ROUTES; $4: EVERY_EVENT's jobs, for every type). The
# rows of a batchable job ($5) are cut, in outbox order, into batches of `ceil((rows + $8) / $6)` but at most $7
# rows ($6: max_jobs, $8: the jobs ready on the arq queue, running ones included): alone while the workers keep
# up, batched when jobs queue up — they would wait anyway, and a batch spends arq's per-job bookkeeping once. A
# batch's rows remember its smallest outbox id (`batch_lead`), which names its arq job.
_PUBLISH = """
WITH batch AS (
    SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
), published AS (
    UPDATE outbox o SET published_at = now() FROM batch WHERE o.id = batch.id
    RETURNING o.id, o.type
), routed AS (
    SELECT p.id, r.job FROM published p JOIN unnest($2::text[], $3::text[]) AS r(type, job) ON r.type = p.type
    UNION ALL
    SELECT p.id, e.job FROM published p CROSS JOIN unnest($4::text[]) AS e(job)
), sized AS (
    SELECT id, job, row_number() OVER (PARTITION BY job ORDER BY id) - 1 AS n,
           CASE WHEN job = ANY($5::text[])
                THEN least($7::bigint, ceil((count(*) OVER (PARTITION BY job) + $8) / $6::numeric)::bigint)
                ELSE 1 END AS size
    FROM routed
), cut AS (
    SELECT id, job, min(id) OVER w AS lead, count(*) OVER w AS rows
    FROM sized WINDOW w AS (PARTITION BY job, n / size)
), ledger AS (
    INSERT INTO event_jobs (outbox_id, job, batch_lead)
    SELECT id, job, CASE WHEN rows > 1 THEN lead END FROM cut
    ON CONFLICT DO NOTHING
    RETURNING outbox_id, job, batch_lead
)
SELECT p.id, l.job, l.batch_lead FROM published p LEFT JOIN ledger l ON l.outbox_id = p.id
"""
_ENQUEUE_FAILED = """
UPDATE event_jobs SET checked_at = '-infinity'
WHERE (outbox_id, job) IN (SELECT * FROM unnest($1::bigint[], $2::text[])) AND status = 'pending'
"""


class Relay:
    def __init__(self, pool: Pool, redis: ArqRedis, tuning: WorkerTuning) -> None:
        self._pool = pool
        self._redis = redis
        self._tuning = tuning
        self._batchable = sorted(name for name, spec in JOBS.items() if spec.batchable)
        self._ready, self._ready_at = 0, -READY_EVERY
        self._wake = asyncio.Event()
        self._stopping = False
        self.published = 0
        # Times the sweep timer, not a NOTIFY or stop(), ended a wait (observable for tests and health checks).
        self.sweeps = 0
        # True while idle on LISTEN (observable for tests and health checks).
        self.waiting = False

    def notify(self, *_: Any) -> None:
        """asyncpg listener callback (connection, pid, channel, payload)."""
        self._wake.set()

    def stop(self) -> None:
        """Ask `run` to return once its current batch is through (workers/lifecycle.py: shutdown)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Relay until stopped (or cancelled); errors are logged and retried, never fatal."""
        while not self._stopping:
            self._wake.clear()
            try:
                while not self._stopping and await self.publish_batch() >= self._tuning.relay_batch:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relay: batch failed; retrying")
                await self._sleep(min(1.0, self._tuning.relay_sweep_interval))
            self.waiting = True
            try:
                await self._sleep(self._tuning.relay_sweep_interval)
            finally:
                self.waiting = False

    async def _sleep(self, seconds: float) -> None:
        """Until a NOTIFY, stop() or `seconds`. asyncio.timeout, not wait_for: workers/stopping.py says why."""
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            self.sweeps += 1

    async def _ready_jobs(self) -> int:
        """The jobs ready on the arq queue, asked at most every READY_EVERY seconds (the relay may run a batch per
        commit; the figure only sizes job batches, so a few milliseconds old is as good)."""
        now = time.monotonic()
        if now - self._ready_at >= READY_EVERY:
            try:
                self._ready = await ready_jobs(self._redis)
            except Exception:  # Redis away: the enqueue fails too and recovery takes over
                self._ready = 0
            self._ready_at = now
        return self._ready

    async def publish_batch(self) -> int:
        """Publish one batch; returns how many events it took."""
        ready = await self._ready_jobs()
        rows = await self._pool.fetch(
            _PUBLISH,
            self._tuning.relay_batch,
            *route_arrays(),
            self._batchable,
            self._tuning.max_jobs,
            max(1, self._tuning.job_batch),
            ready,
        )
        # The jobs the statement wrote ledger rows for, in outbox order.
        jobs = sorted(QueuedJob(r["job"], int(r["id"]), 0, r["batch_lead"]) for r in rows if r["job"] is not None)
        if jobs:
            try:
                await enqueue_many(self._redis, jobs)
            except Exception:
                # Ask the maintenance loop to enqueue them on its next tick instead of after lost_check_after.
                log.exception("relay: enqueue failed for %d job(s); recovery will retry", len(jobs))
                with contextlib.suppress(Exception):
                    await self._pool.execute(_ENQUEUE_FAILED, [j.outbox_id for j in jobs], [j.name for j in jobs])
        published = len({int(r["id"]) for r in rows})
        self.published += published
        OUTBOX_PUBLISHED.inc(published)
        return published
