"""Putting back what was lost: jobs of crashed workers, jobs Redis forgot, and old rows nobody needs.

All of it is driven by PostgreSQL state, so it is correct whatever happened to Redis:

* a crashed worker (liveness lock gone, not seen for `dead_after`): its claimed deliveries go back
  to `queued` and its unfinished jobs are enqueued again under a new generation, at once, rather
  than after arq's in-progress key expires;
* a pending job not seen in Redis for `lost_check_after` (FLUSHALL, expiry, a relay that died
  between commit and enqueue) is enqueued again; one that is still there is left alone;
* so is a job Redis says is in progress while no live worker has started it: a worker that died
  between taking it off the queue and starting it (arq would only release it after job_timeout + 10 s);
* a dead letter re-run (checked_at = '-infinity') is enqueued on the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from arq.connections import ArqRedis
from asyncpg import Record

from services.db import Pool
from services.participants.tokens import purge_expired
from services.registrations.requests import purge_lapsed
from workers.enqueue import QueuedJob, enqueue_many, long_suspected, present
from workers.liveness import claim_dead_workers
from workers.settings import WorkerTuning

log = logging.getLogger(__name__)

_RELEASE_CLAIMS = """
UPDATE deliveries SET status = 'queued', claimed_at = NULL, claimed_by = NULL,
                      last_error = 'werkproces viel weg tijdens het verzenden'
WHERE status = 'claimed' AND claimed_by = ANY($1::integer[])
"""
_ORPHANED_JOBS = """
UPDATE event_jobs SET generation = generation + 1, checked_at = now(), started_by = NULL
WHERE status = 'pending' AND started_by = ANY($1::integer[])
RETURNING outbox_id, job, generation
"""
_REQUESTED = """
UPDATE event_jobs j SET generation = j.generation + 1, checked_at = now()
FROM (
    SELECT outbox_id, job FROM event_jobs
    WHERE status = 'pending' AND checked_at = '-infinity'
    ORDER BY outbox_id LIMIT $1 FOR UPDATE SKIP LOCKED
) r
WHERE j.outbox_id = r.outbox_id AND j.job = r.job
RETURNING j.outbox_id, j.job, j.generation
"""
_STALE = """
SELECT j.outbox_id, j.job, j.generation, j.batch_lead,
       EXISTS (SELECT 1 FROM worker_processes w WHERE w.id = j.started_by AND w.stopped_at IS NULL) AS live
FROM event_jobs j
WHERE j.status = 'pending' AND j.checked_at < now() - make_interval(secs => $1)
ORDER BY j.checked_at LIMIT $2
FOR UPDATE OF j SKIP LOCKED
"""
_SEEN = """
UPDATE event_jobs SET checked_at = now()
WHERE (outbox_id, job) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))
"""
_REGENERATE = """
UPDATE event_jobs SET generation = generation + 1, checked_at = now()
WHERE (outbox_id, job) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))
RETURNING outbox_id, job, generation
"""
# A batch's member that must run again (workers/ledger.py: execute_batch) leaves the batch: a job of its own.
_ALONE = """
UPDATE event_jobs SET generation = generation + 1, checked_at = now()
WHERE (outbox_id, job) IN (SELECT * FROM unnest($1::bigint[], $2::text[])) AND status = 'pending'
RETURNING outbox_id, job, generation
"""
_PURGE_OUTBOX = """
WITH doomed AS (
    SELECT o.id FROM outbox o
    WHERE o.published_at < now() - make_interval(days => $1)
      AND NOT EXISTS (SELECT 1 FROM event_jobs j WHERE j.outbox_id = o.id AND j.status <> 'done')
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries w WHERE w.outbox_id = o.id AND w.status = 'pending')
    ORDER BY o.published_at LIMIT $2
    FOR UPDATE SKIP LOCKED
)
DELETE FROM outbox WHERE id IN (SELECT id FROM doomed)
"""


def _jobs(rows: Sequence[Record]) -> list[QueuedJob]:
    """Rows with a generation > 0 are always alone; only _STALE's generation-0 rows may belong to a batch."""
    return [QueuedJob(r["job"], int(r["outbox_id"]), int(r["generation"]), r.get("batch_lead")) for r in rows]


async def recover_dead_workers(pool: Pool, redis: ArqRedis, tuning: WorkerTuning) -> int:
    """Recover every worker that died without stopping; returns how many."""
    async with pool.acquire() as conn, conn.transaction():
        dead = await claim_dead_workers(conn, tuning.dead_after)
        if not dead:
            return 0
        released = await conn.execute(_RELEASE_CLAIMS, dead)
        jobs = _jobs(await conn.fetch(_ORPHANED_JOBS, dead))
        await conn.execute(
            "UPDATE worker_processes SET stopped_at = now(), crashed = true WHERE id = ANY($1::integer[])", dead
        )
    log.warning(
        "worker(s) %s died: %s deliveries released, %d job(s) enqueued again", dead, released.split()[-1], len(jobs)
    )
    # Should this fail, the jobs are not in Redis under their new id, which the lost-job check notices.
    await enqueue_many(redis, jobs)
    return len(dead)


async def requeue_lost_jobs(pool: Pool, redis: ArqRedis, tuning: WorkerTuning) -> int:
    """Enqueue requested re-runs and jobs Redis no longer has; returns how many were enqueued."""
    requested = _jobs(await pool.fetch(_REQUESTED, tuning.lost_check_batch))
    enqueued = await enqueue_many(redis, requested)
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_STALE, tuning.lost_check_after, tuning.lost_check_batch)
        if not rows:
            return enqueued
        candidates = _jobs(rows)
        there = await present(redis, candidates)
        # "In progress" but started by no live worker: taken off the queue by a worker that then died — or by a
        # live one a moment ago that has not started it yet. Only a second sighting, lost_check_after later, counts.
        suspects = [
            job
            for job, row, state in zip(candidates, rows, there, strict=True)
            if state.in_progress and not row["live"]
        ]
        verdicts = dict(
            zip(suspects, await long_suspected(redis, suspects, older_than=tuning.lost_check_after), strict=True)
        )
        seen: list[QueuedJob] = []
        lost: list[QueuedJob] = []
        for job, state in zip(candidates, there, strict=True):
            (lost if not state.exists or verdicts.get(job, False) else seen).append(job)
        if seen:
            await conn.execute(_SEEN, [j.outbox_id for j in seen], [j.name for j in seen])
        renewed: list[QueuedJob] = []
        if lost:
            renewed = _jobs(await conn.fetch(_REGENERATE, [j.outbox_id for j in lost], [j.name for j in lost]))
    if renewed:
        log.warning("%d job(s) were lost from Redis or by a dead worker; enqueued again", len(renewed))
        enqueued += await enqueue_many(redis, renewed)
    return enqueued


async def requeue_alone(pool: Pool, redis: ArqRedis, name: str, delays: dict[int, float]) -> None:
    """Enqueue these pending rows of job `name` (outbox id -> seconds to wait) each as a job of its own, under a new
    generation. Should Redis fail after PostgreSQL, they are not in Redis under their new id: the lost-job check
    enqueues them after lost_check_after."""
    ids = sorted(delays)
    rows = await pool.fetch(_ALONE, ids, [name] * len(ids))
    by_delay: dict[int, list[QueuedJob]] = {}
    for job in _jobs(rows):
        by_delay.setdefault(round(delays[job.outbox_id] * 1000), []).append(job)
    for defer_ms, jobs in by_delay.items():
        await enqueue_many(redis, jobs, defer_ms=defer_ms)


async def purge(pool: Pool, tuning: WorkerTuning, *, batch: int = 5000) -> int:
    """Delete published events older than the retention period whose work is finished; returns how many."""
    total = 0
    while True:
        status = await pool.execute(_PURGE_OUTBOX, tuning.outbox_retention_days, batch)
        count = int(status.split()[-1])
        total += count
        if count < batch:
            break
    await pool.execute(
        "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < now() - make_interval(days => $1)",
        tuning.outbox_retention_days,
    )
    await pool.execute("DELETE FROM worker_processes WHERE stopped_at < now() - interval '7 days'")
    async with pool.acquire() as conn:
        # Participant data nobody needs any more: lapsed registration requests, long-dead personal links.
        await purge_lapsed(conn)
        await purge_expired(conn)
    if total:
        log.info("purged %d published event(s) older than %d days", total, tuning.outbox_retention_days)
    return total
