"""Every event job runs through `execute`: the ledger row in `event_jobs` decides what happens.

1. Ordered jobs first wait until earlier events of the same aggregate are through this job.
2. START: a conditional UPDATE on the job's ledger row (pending only) counts the attempt and says
   which worker runs it. No row: the job is done, dead or purged; a duplicate run stops here.
3. The job function runs. It must be idempotent (it may run again after a crash); side effects
   go through workers/deliveries.py.
4. Success marks the row done. Failure retries with exponential backoff (arq `Retry`) until
   max_attempts, then the row becomes `dead` and a dead letter is written. Nothing is dropped.
   A job that raises JobDeferred (an outside service is away) runs again later without spending
   an attempt, until the event is older than `defer_horizon`.

Under load one arq job carries several events of one short job (`execute_batch`, workers/relay.py): each is still
its own job here, through the same steps, with its own row.

arq's own try limit is set out of reach: it would fail a job silently, outside the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from datetime import UTC, datetime
from typing import Any, Literal

from arq.worker import Function, Retry, func
from asyncpg import Record

from services.db import Pool
from services.deadletters.service import record as record_dead_letter
from services.observe import metrics, tracing
from services.observe.context import job_var, request_id_var
from services.outbox import event_from_row
from workers.coalesce import Coalesced
from workers.context import (
    EVENT_COLUMNS_O,
    Ctx,
    EventGone,
    ledger_pool_of,
    pool_of,
    redis_of,
    tuning_of,
    worker_id_of,
)
from workers.recovery import requeue_alone
from workers.registry import JobDeferred, JobSpec, PermanentJobError
from workers.settings import WorkerTuning, retry_delay

log = logging.getLogger(__name__)

ARQ_MAX_TRIES = 100_000
# Where the steps below leave how a run ended (arq gives each job its own ctx), for leerkring_jobs_total.
OUTCOME = "job_outcome"

# Starting also reads the event, so the job's load_event() costs no extra round trip. START and DONE are each sent
# for all the jobs of this worker that reach them while the previous one is on the wire (`LedgerBatches`): one
# round trip for many jobs under load, the same single-row statement's effect for each. (One statement for both
# was tried in stop 19: fewer round trips, but 0.8 ms more CPU per no-op job in the worker and its backends.)
_START = f"""
WITH started AS (
    UPDATE event_jobs j SET attempts = j.attempts + 1, started_at = now(), started_by = $3
    FROM unnest($1::bigint[], $2::text[]) AS r(outbox_id, job)
    WHERE j.outbox_id = r.outbox_id AND j.job = r.job AND j.status = 'pending'
    RETURNING j.outbox_id, j.job, j.attempts
)
SELECT s.job, s.attempts, o.request_id, o.trace_parent, {EVENT_COLUMNS_O}
FROM started s JOIN outbox o ON o.id = s.outbox_id
"""
_DONE = """
UPDATE event_jobs j SET status = 'done', finished_at = now(), last_error = NULL
FROM unnest($1::bigint[], $2::text[]) AS r(outbox_id, job)
WHERE j.outbox_id = r.outbox_id AND j.job = r.job AND j.status = 'pending'
"""
_ATTEMPT_FAILED = "UPDATE event_jobs SET last_error = $3 WHERE outbox_id = $1 AND job = $2"
# A deferral gives back the attempt START counted.
_DEFERRED = """
UPDATE event_jobs SET attempts = greatest(attempts - 1, 0), last_error = $3
WHERE outbox_id = $1 AND job = $2 AND status = 'pending'
"""
_DEAD = """
UPDATE event_jobs SET status = 'dead', finished_at = now(), last_error = $3
WHERE outbox_id = $1 AND job = $2 AND status = 'pending'
"""
# Earlier events of this aggregate that this job has not finished (or that the relay has not even
# published yet, so their ledger rows may still be missing).
_PREDECESSORS = """
SELECT EXISTS (
    SELECT 1 FROM outbox me
    JOIN outbox o ON o.aggregate_id = me.aggregate_id AND o.id < me.id
    LEFT JOIN event_jobs j ON j.outbox_id = o.id AND j.job = $2
    WHERE me.id = $1 AND (o.published_at IS NULL OR j.status = 'pending')
)
"""


class LedgerBatches:
    """This worker's START and DONE statements, each coalesced across its concurrent jobs (workers/coalesce.py)."""

    def __init__(self, ctx: Ctx) -> None:
        self._ctx = ctx
        self.start: Coalesced[tuple[int, str], Record] = Coalesced(self._start)
        self.done: Coalesced[tuple[int, str], None] = Coalesced(self._done)

    async def _start(self, keys: list[tuple[int, str]]) -> dict[tuple[int, str], Record]:
        keys = sorted(keys)  # two workers' batches then lock rows they share in the same order
        ids, names = [k[0] for k in keys], [k[1] for k in keys]
        rows = await ledger_pool_of(self._ctx).fetch(_START, ids, names, worker_id_of(self._ctx))
        return {(int(r["id"]), str(r["job"])): r for r in rows}

    async def _done(self, keys: list[tuple[int, str]]) -> dict[tuple[int, str], None]:
        keys = sorted(keys)
        await ledger_pool_of(self._ctx).execute(_DONE, [k[0] for k in keys], [k[1] for k in keys])
        return {}


def batches_of(ctx: Ctx) -> LedgerBatches:
    """The worker's batches (workers/lifecycle.py makes them at start-up); unbatched ones for a bare ctx."""
    batches = ctx.get("ledger_batches")
    return batches if isinstance(batches, LedgerBatches) else LedgerBatches(ctx)


def arq_function(spec: JobSpec, tuning: WorkerTuning) -> Function:
    """The arq function for one registered job, wrapped by the ledger: `name(outbox_id)`, or for a batch of a
    batchable job's events `name(outbox_id, ...)` (workers/relay.py)."""

    async def run(ctx: dict[str, Any], outbox_id: int, *more: int) -> None:
        if more:
            await execute_batch(spec, ctx, (outbox_id, *more))
        else:
            await execute(spec, ctx, outbox_id)

    run.__qualname__ = run.__name__ = spec.name
    limit = spec.timeout or tuning.job_timeout
    return func(
        run,
        name=spec.name,
        max_tries=ARQ_MAX_TRIES,
        # A batchable job's own timeout applies to each event (_execute); arq's, for the whole batch, is a backstop:
        # an event may wait for a job slot while the batches ahead of it work, each event for at most `limit`.
        timeout=limit * (max(1, tuning.job_batch) + 1) if spec.batchable else limit,
        keep_result=tuning.keep_result,
    )


def _describe(exc: BaseException) -> str:
    lines = traceback.format_exception(exc)
    return f"{type(exc).__name__}: {exc}\n" + "".join(lines[-6:])


async def execute(spec: JobSpec, ctx: Ctx, outbox_id: int, *, started: Record | Literal[False] | None = False) -> None:
    """One run of a job, counted in leerkring_jobs_total by outcome, its log lines marked with the job and the id of
    the request that caused its event (services/observe). `started`: False to START here, else what START
    returned for it already (a batch starts all its events in one statement)."""
    job_token = job_var.set(f"{spec.name}:{outbox_id}")
    request_token = request_id_var.set(None)
    began = time.perf_counter()
    outcome = "error"
    try:
        await _execute(spec, ctx, outbox_id, started)
        outcome = ctx.pop(OUTCOME, "done")
    except Retry:
        outcome = ctx.pop(OUTCOME, "retry")
        raise
    except asyncio.CancelledError:
        outcome = "cancelled"
        raise
    finally:
        metrics.JOBS.labels(spec.name, outcome).inc()
        metrics.JOB_DURATION.labels(spec.name).observe(time.perf_counter() - began)
        request_id_var.reset(request_token)
        job_var.reset(job_token)


async def _start(spec: JobSpec, ctx: Ctx, outbox_id: int) -> Record | None:
    pool, tuning = ledger_pool_of(ctx), tuning_of(ctx)
    arq_try = int(ctx.get("job_try") or 1)
    try:
        if spec.ordered and await pool.fetchval(_PREDECESSORS, outbox_id, spec.name):
            # Not an attempt: nothing ran. Poll quickly at first, then back off.
            ctx[OUTCOME] = "waiting"
            raise Retry(defer=min(0.02 * 2 ** min(arq_try, 8), 2.0))
        return await batches_of(ctx).start((outbox_id, spec.name))
    except Retry:
        raise
    except Exception as exc:  # PostgreSQL unreachable or restarting: nothing was recorded, back off and try again
        log.warning("job %s(%s) could not start: %r", spec.name, outbox_id, exc)
        raise Retry(defer=retry_delay(arq_try, tuning.retry_base, tuning.retry_cap)) from exc


async def _execute(spec: JobSpec, ctx: Ctx, outbox_id: int, started: Record | Literal[False] | None) -> None:
    pool, tuning = ledger_pool_of(ctx), tuning_of(ctx)
    arq_try = int(ctx.get("job_try") or 1)
    if started is False:
        started = await _start(spec, ctx, outbox_id)
    if not isinstance(started, Record):
        ctx[OUTCOME] = "duplicate"
        return  # done, dead, or purged: a duplicate run ends here
    request_id_var.set(started["request_id"])
    attempts = int(started["attempts"])
    log.debug("job %s(%s) attempt %d", spec.name, outbox_id, attempts)
    with tracing.job_span(spec.name, outbox_id, started["trace_parent"]):
        ctx["attempt"] = attempts
        ctx["event"] = event_from_row(started)
        max_attempts = spec.max_attempts or tuning.max_attempts
        try:
            # A batchable job's timeout is its own, not arq's, which covers a whole batch: running over it is a
            # failed attempt like any other (asyncio.timeout raises TimeoutError, an Exception).
            async with _slot(ctx, spec), asyncio.timeout(tuning.job_timeout if spec.batchable else None):
                await spec.fn(ctx, outbox_id)
        except asyncio.CancelledError:
            raise  # shutdown or timeout: arq puts the job back, the next run is the next attempt
        except EventGone:
            log.info("job %s(%s): event purged, nothing to do", spec.name, outbox_id)
            ctx[OUTCOME] = "gone"
            return
        except JobDeferred as exc:
            if not _past_horizon(ctx, tuning):
                ctx[OUTCOME] = "deferred"
                await _defer(pool, spec, outbox_id, exc)
            await _failed(ctx, spec, outbox_id, attempts, max_attempts, exc)
        except Exception as exc:
            await _failed(ctx, spec, outbox_id, attempts, max_attempts, exc)
        else:
            await _done(ctx, spec, outbox_id, arq_try, tuning)


async def execute_batch(spec: JobSpec, ctx: Ctx, outbox_ids: tuple[int, ...]) -> None:
    """One arq job carrying several events of one batchable job (workers/relay.py), each still its own job in the
    ledger: START for all of them in one statement before any runs (so a crash mid-batch leaves every unfinished
    one started by this worker, which the dead-worker recovery re-enqueues at once), then all of them side by side,
    each as `execute` runs a single one: its own ctx, timeout, DONE, retry and dead letter, and one of the worker's
    `job_slots` while it works (so no more short jobs work at once than `max_jobs`, batched or not, and a batch
    has no tail of events waiting for each other). An event that must run again leaves the batch: it is enqueued
    alone (a new generation) with its own delay. Cancelled (shutdown, arq's backstop timeout), arq runs the batch
    again later and START skips what is done; an event cut off has spent an attempt, as a single job would.
    Events that START skips (done, dead, purged) count as duplicates, as a second single run would."""
    tuning = tuning_of(ctx)
    try:
        rows = await batches_of(ctx).start.many([(outbox_id, spec.name) for outbox_id in outbox_ids])
    except Exception as exc:  # PostgreSQL unreachable or restarting: nothing was recorded, the batch tries again
        log.warning("job %s(%s…) could not start a batch of %d: %r", spec.name, outbox_ids[0], len(outbox_ids), exc)
        arq_try = int(ctx.get("job_try") or 1)
        raise Retry(defer=retry_delay(arq_try, tuning.retry_base, tuning.retry_cap)) from exc
    members = zip(outbox_ids, rows, strict=True)
    runs = (execute(spec, dict(ctx), outbox_id, started=started) for outbox_id, started in members)
    ends = await asyncio.gather(*runs, return_exceptions=True)
    again: dict[int, float] = {}
    for outbox_id, end in zip(outbox_ids, ends, strict=True):
        if isinstance(end, Retry):
            again[outbox_id] = (end.defer_score or 0) / 1000
        elif isinstance(end, BaseException):  # not the ledger's doing (a bug): log it, and try again as for a failure
            log.error("job %s(%s) in a batch ended with %r", spec.name, outbox_id, end, exc_info=end)
            again[outbox_id] = tuning.retry_base
    if again:
        try:
            await requeue_alone(ledger_pool_of(ctx), redis_of(ctx), spec.name, again)
        except Exception as exc:  # the whole batch again, later: START skips what is done
            log.warning("job %s: could not re-enqueue %d event(s) of a batch alone: %r", spec.name, len(again), exc)
            raise Retry(defer=min(again.values())) from exc


def _slot(ctx: Ctx, spec: JobSpec) -> contextlib.AbstractAsyncContextManager[Any]:
    """One of the worker's `job_slots` for a batchable job's work (workers/lifecycle.py makes them); none for a
    long job, which has an arq slot of its own, or for a bare ctx."""
    slots = ctx.get("job_slots")
    return slots if spec.batchable and isinstance(slots, asyncio.Semaphore) else contextlib.nullcontext()


def _past_horizon(ctx: Ctx, tuning: WorkerTuning) -> bool:
    occurred_at: datetime = ctx["event"].occurred_at
    return (datetime.now(UTC) - occurred_at).total_seconds() >= tuning.defer_horizon


async def _defer(pool: Pool, spec: JobSpec, outbox_id: int, exc: JobDeferred) -> None:
    """Not an attempt: give it back and run again after the job's own delay. Raises Retry."""
    log.info("job %s(%s) deferred for %.1fs: %s", spec.name, outbox_id, exc.delay, exc)
    try:
        await pool.execute(_DEFERRED, outbox_id, spec.name, f"uitgesteld: {exc}"[:4000])
    except Exception:  # PostgreSQL away too: the attempt stays counted, which only shortens the budget
        log.debug("could not record the deferral", exc_info=True)
    raise Retry(defer=exc.delay) from exc


async def _failed(ctx: Ctx, spec: JobSpec, outbox_id: int, attempts: int, max_attempts: int, exc: Exception) -> None:
    """A failed attempt: retry with backoff (raises Retry), or bury the job after its last attempt."""
    pool, tuning = ledger_pool_of(ctx), tuning_of(ctx)
    permanent = isinstance(exc, PermanentJobError)
    if permanent or attempts >= max_attempts:
        log.error("job %s(%s) failed after %d attempt(s), dead letter: %r", spec.name, outbox_id, attempts, exc)
        await _bury(ctx, spec, outbox_id, attempts, exc)
        ctx[OUTCOME] = "dead"
        return
    delay = retry_delay(attempts, tuning.retry_base, tuning.retry_cap)
    log.warning("job %s(%s) attempt %d failed, retry in %.1fs: %r", spec.name, outbox_id, attempts, delay, exc)
    try:
        await pool.execute(_ATTEMPT_FAILED, outbox_id, spec.name, _describe(exc)[:4000])
    except Exception:  # the error note is a courtesy; the retry matters more
        log.debug("could not record the failed attempt", exc_info=True)
    raise Retry(defer=delay) from exc


async def _done(ctx: Ctx, spec: JobSpec, outbox_id: int, arq_try: int, tuning: WorkerTuning) -> None:
    try:
        await batches_of(ctx).done((outbox_id, spec.name))
    except Exception as exc:  # the work is done; running it again is harmless, losing it is not
        raise Retry(defer=retry_delay(arq_try, tuning.retry_base, tuning.retry_cap)) from exc


async def _bury(ctx: Ctx, spec: JobSpec, outbox_id: int, attempts: int, exc: BaseException) -> None:
    """Mark the ledger row dead and write the dead letter, in one transaction."""
    description = _describe(exc)
    try:
        async with pool_of(ctx).acquire() as conn, conn.transaction():
            if await conn.execute(_DEAD, outbox_id, spec.name, description[:4000]) != "UPDATE 0":
                await record_dead_letter(
                    conn,
                    job=spec.name,
                    args={"outbox_id": outbox_id},
                    error=description,
                    attempts=attempts,
                    outbox_id=outbox_id,
                )
    except Exception as db_exc:
        # Cannot even record the failure: keep the job alive in Redis rather than lose it.
        tuning = tuning_of(ctx)
        raise Retry(defer=retry_delay(attempts, tuning.retry_base, tuning.retry_cap)) from db_exc
