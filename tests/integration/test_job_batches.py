"""Job batches (workers/relay.py, workers/ledger.py: execute_batch): when jobs queue up, several events of one short
job share one arq job. Each event keeps its own ledger row: START before it runs, DONE after, its own retries and
dead letter; a FLUSHALL, a stop or a crash in the middle of a batch loses nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from arq.connections import RedisSettings, create_pool

from services.db import Connection
from services.db import create_pool as create_pg_pool
from services.settings import Settings
from workers import routes
from workers.context import pool_of, worker_id_of
from workers.recovery import requeue_lost_jobs
from workers.registry import PermanentJobError, job
from workers.relay import Relay
from workers.routes import ROUTES
from workers.testing import FAST, emit_published, no_pending_jobs, running_workers, wait_until

JOB = "batch_test_record"
TABLES = """
CREATE TABLE test_runs (
    outbox_id bigint, attempt integer, arq_job text, ledger_status text, started_by integer, worker_id integer,
    at timestamptz DEFAULT clock_timestamp(), ended boolean NOT NULL DEFAULT false
);
CREATE TABLE test_failing (outbox_id bigint PRIMARY KEY, permanent boolean NOT NULL);
CREATE TABLE test_flags (slow float NOT NULL);
INSERT INTO test_flags VALUES (0);
"""


@job(name=JOB)
async def record(ctx: dict[str, Any], outbox_id: int) -> None:
    """Notes which arq job ran it and what its ledger row said meanwhile; fails its first attempt when told to."""
    pool = pool_of(ctx)
    await pool.execute(
        """
        INSERT INTO test_runs (outbox_id, attempt, arq_job, ledger_status, started_by, worker_id)
        SELECT $1, $2, $3, status, started_by, $4 FROM event_jobs WHERE outbox_id = $1 AND job = $5
        """,
        outbox_id,
        ctx["attempt"],
        ctx["job_id"],
        worker_id_of(ctx),
        JOB,
    )
    await asyncio.sleep(await pool.fetchval("SELECT slow FROM test_flags"))
    permanent = await pool.fetchval("SELECT permanent FROM test_failing WHERE outbox_id = $1", outbox_id)
    if permanent:
        raise PermanentJobError("kan nooit slagen")
    if permanent is not None and ctx["attempt"] == 1:
        raise RuntimeError("eerste poging mislukt")
    await pool.execute("UPDATE test_runs SET ended = true WHERE outbox_id = $1 AND attempt = $2", outbox_id,
                       ctx["attempt"])  # fmt: skip


@pytest.fixture
async def tables(conn: Connection, monkeypatch: pytest.MonkeyPatch) -> Connection:
    monkeypatch.setitem(ROUTES, "meeting.published", (JOB,))
    monkeypatch.setattr(routes, "EVERY_EVENT", ())  # no webhook fan-out: one job per event
    await conn.execute(TABLES)
    return conn


async def ledger(conn: Connection) -> dict[int, tuple[Any, ...]]:
    rows = await conn.fetch("SELECT outbox_id, status, attempts, generation FROM event_jobs WHERE job = $1", JOB)
    return {r["outbox_id"]: (r["status"], r["attempts"], r["generation"]) for r in rows}


async def test_a_backlog_runs_in_batches_each_event_once_between_its_start_and_done(
    tables: Connection, worker_settings: Settings
):
    ids = await emit_published(tables, 100)  # committed before any worker runs: the relay finds a backlog
    async with running_workers(worker_settings) as [worker]:
        await wait_until(lambda: no_pending_jobs(tables), within=30)
    runs = await tables.fetch("SELECT * FROM test_runs ORDER BY outbox_id")
    assert [r["outbox_id"] for r in runs] == ids, "every event once"
    # 100 events of one job, at most max_jobs (10) per arq job, spread over max_jobs arq jobs.
    assert len({r["arq_job"] for r in runs}) == FAST.max_jobs
    assert await tables.fetchval("SELECT count(DISTINCT batch_lead) FROM event_jobs") == FAST.max_jobs
    assert await tables.fetchval("SELECT count(*) FROM event_jobs") == 100
    # START before: while it ran, its own row was started by this worker and not yet done.
    assert {(r["ledger_status"], r["started_by"]) for r in runs} == {("pending", worker.ctx["worker_id"])}
    # DONE after.
    finished = dict(await tables.fetch("SELECT outbox_id, finished_at FROM event_jobs"))
    assert all(finished[r["outbox_id"]] > r["at"] for r in runs)
    assert set((await ledger(tables)).values()) == {("done", 1, 0)}


async def test_a_failed_event_leaves_its_batch_and_is_retried_alone(tables: Connection, worker_settings: Settings):
    ids = await emit_published(tables, 40)
    flaky, doomed = ids[3], ids[17]
    await tables.execute("INSERT INTO test_failing VALUES ($1, false), ($2, true)", flaky, doomed)
    async with running_workers(worker_settings):
        await wait_until(lambda: no_pending_jobs(tables), within=30)
    rows = await ledger(tables)
    assert rows.pop(flaky) == ("done", 2, 1), "retried once, as a job of its own (a new generation)"
    assert rows.pop(doomed) == ("dead", 1, 0)
    assert set(rows.values()) == {("done", 1, 0)}, "the others ran once, in their batches"
    retried = await tables.fetch("SELECT arq_job FROM test_runs WHERE outbox_id = $1 ORDER BY at", flaky)
    assert retried[1]["arq_job"] == f"{JOB}:{flaky}:1"
    assert retried[0]["arq_job"] != retried[1]["arq_job"]
    assert await tables.fetchval("SELECT count(*) FROM test_runs WHERE outbox_id <> $1", flaky) == 39
    assert await tables.fetchval("SELECT outbox_id FROM dead_letters") == doomed


async def test_batches_lost_from_redis_are_found_and_those_still_there_left_alone(
    tables: Connection, worker_settings: Settings
):
    ids = await emit_published(tables, 30)
    redis = await create_pool(RedisSettings.from_dsn(worker_settings.redis_url or ""))
    pool = await create_pg_pool(worker_settings.database_url or "", min_size=1, max_size=2)
    tuning = msgspec.structs.replace(FAST, lost_check_after=0.0)
    try:
        assert await Relay(pool, redis, tuning).publish_batch() == 30
        assert await redis.zcard("arq:queue") == FAST.max_jobs  # 30 events in 10 arq jobs
        # Every row's batch is on the queue: seen, nothing enqueued again.
        assert await requeue_lost_jobs(pool, redis, tuning) == 0
        assert set((await ledger(tables)).values()) == {("pending", 0, 0)}
        await redis.flushall()
        assert await requeue_lost_jobs(pool, redis, tuning) == 30, "each lost row enqueued again, alone"
        assert await redis.zcard("arq:queue") == 30
    finally:
        await redis.aclose()
        await pool.close()
    async with running_workers(worker_settings):
        await wait_until(lambda: no_pending_jobs(tables), within=30)
    assert [r["outbox_id"] for r in await tables.fetch("SELECT outbox_id FROM test_runs ORDER BY outbox_id")] == ids
    assert set((await ledger(tables)).values()) == {("done", 1, 1)}


async def test_a_worker_stopped_mid_batch_leaves_the_rest_to_the_next(tables: Connection, worker_settings: Settings):
    await tables.execute("UPDATE test_flags SET slow = 0.3")  # a batch of 10 outlasts the shutdown wait (1 s)
    ids = await emit_published(tables, 40)
    async with running_workers(worker_settings):
        await wait_until(lambda: tables.fetchval("SELECT count(*) >= 10 FROM test_runs WHERE ended"), within=30)
    first = await tables.fetchval("SELECT count(*) FROM test_runs WHERE ended")
    assert first < len(ids), "stopped mid-way"
    await tables.execute("UPDATE test_flags SET slow = 0")
    async with running_workers(worker_settings):
        await wait_until(lambda: no_pending_jobs(tables), within=30)
    ended = [r["outbox_id"] for r in await tables.fetch("SELECT outbox_id FROM test_runs WHERE ended")]
    assert set(ended) == set(ids), "every event's work finished"
    # Twice only where the stop fell between an event's work and its DONE: at most one per arq job then running.
    assert len(ended) - len(ids) <= FAST.max_jobs
    assert {status for status, _, _ in (await ledger(tables)).values()} == {"done"}
