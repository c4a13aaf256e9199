"""The outbox relay with real PostgreSQL, Redis and SMTP: what is committed runs once, what is rolled back never."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import msgspec
import pytest

from localdev.mailsink import MailSink
from schemas.events import MeetingPublished
from services.db import Connection, Pool, create_pool
from services.mail.message import build_message
from services.outbox import emit
from services.settings import Settings
from workers.context import load_event, pool_of, settings_of, worker_id_of
from workers.deliveries import Mail, send_once
from workers.recovery import purge
from workers.registry import job
from workers.routes import ROUTES
from workers.testing import FAST, emit_published, no_pending_jobs, running_workers, wait_until

RUNS = """
CREATE TABLE test_runs (
    id bigint GENERATED ALWAYS AS IDENTITY, outbox_id bigint, job text, worker_id integer,
    aggregate_id uuid, started timestamptz DEFAULT clock_timestamp(), ended timestamptz
)
"""


@job(name="relay_test_record")
async def record_run(ctx: dict[str, Any], outbox_id: int) -> None:
    await pool_of(ctx).execute(
        "INSERT INTO test_runs (outbox_id, job, worker_id) VALUES ($1, 'record', $2)", outbox_id, worker_id_of(ctx)
    )


@job(name="relay_test_mail")
async def mail_once(ctx: dict[str, Any], outbox_id: int) -> None:
    event = await load_event(ctx, outbox_id)
    sender = settings_of(ctx).mail_from

    def build(message_id: str) -> Any:
        return build_message(
            sender=sender,
            to="deelnemer@gemeente.nl",
            subject=f"Bericht {outbox_id}",
            text="Hallo",
            message_id=message_id,
        )

    await send_once(
        ctx, Mail(key=f"relay-test:{event.id}", kind="test", recipient="deelnemer@gemeente.nl", build=build)
    )


@job(name="relay_test_ordered", ordered=True)
async def ordered_run(ctx: dict[str, Any], outbox_id: int) -> None:
    event = await load_event(ctx, outbox_id)
    pool = pool_of(ctx)
    row_id = await pool.fetchval(
        "INSERT INTO test_runs (outbox_id, job, aggregate_id) VALUES ($1, 'ordered', $2) RETURNING id",
        outbox_id,
        event.aggregate_id,
    )
    await asyncio.sleep(random.uniform(0, 0.01))
    await pool.execute("UPDATE test_runs SET ended = clock_timestamp() WHERE id = $1", row_id)


@pytest.fixture
async def runs(conn: Connection) -> Connection:
    await conn.execute(RUNS)
    return conn


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    db = await create_pool(database_url, min_size=1, max_size=6)
    try:
        yield db
    finally:
        await db.close()


async def runs_per_event(conn: Connection, kind: str) -> dict[int, int]:
    rows = await conn.fetch("SELECT outbox_id, count(*) AS n FROM test_runs WHERE job = $1 GROUP BY 1", kind)
    return {r["outbox_id"]: r["n"] for r in rows}


async def test_rolled_back_event_is_never_delivered_and_a_committed_one_once(
    runs: Connection, mail_settings: Settings, mail_sink: MailSink, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(ROUTES, "meeting.published", ("relay_test_record", "relay_test_mail"))
    conn = runs
    async with running_workers(mail_settings):
        transaction = conn.transaction()
        await transaction.start()
        ghost = uuid4()
        await emit(conn, ghost, MeetingPublished(meeting_id=ghost, sequence=0, revision=1))
        await transaction.rollback()
        [committed] = await emit_published(conn)
        await wait_until(lambda: no_pending_jobs(conn))
    # The workers have stopped: whatever was going to happen has happened.
    assert await runs_per_event(conn, "record") == {committed: 1}
    assert [m.message["Subject"] for m in mail_sink.messages] == [f"Bericht {committed}"]
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE aggregate_id = $1", ghost) == 0
    ledger = await conn.fetch("SELECT job, status, attempts FROM event_jobs ORDER BY job")
    assert [tuple(r) for r in ledger] == [
        ("dispatch_webhooks", "done", 1),
        ("relay_test_mail", "done", 1),
        ("relay_test_record", "done", 1),
    ]


async def test_notify_wakes_the_relay_without_waiting_for_a_sweep(
    runs: Connection, worker_settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(ROUTES, "meeting.published", ("relay_test_record",))
    slow_sweeps = msgspec.structs.replace(FAST, relay_sweep_interval=60.0, lost_check_after=60.0)
    async with running_workers(worker_settings, tuning=slow_sweeps) as [worker]:
        relay = worker.ctx["relay"]

        async def idle() -> bool:
            return bool(relay.waiting)

        await wait_until(idle)  # its start-up sweep is over; from now on only a NOTIFY wakes it
        sweeps = relay.sweeps
        [outbox_id] = await emit_published(runs)
        await wait_until(lambda: no_pending_jobs(runs), within=30)
        assert relay.sweeps == sweeps, "published without waiting for the (60 s) sweep: the NOTIFY woke the relay"
    assert await runs_per_event(runs, "record") == {outbox_id: 1}


async def test_two_relays_and_two_workers_run_every_job_once(
    runs: Connection,
    database_url: str,
    mail_settings: Settings,
    mail_sink: MailSink,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setitem(ROUTES, "meeting.published", ("relay_test_record", "relay_test_mail"))
    async with running_workers(mail_settings, count=2) as workers:
        pool = await create_pool(database_url, min_size=4, max_size=4)
        try:

            async def writer() -> list[int]:
                ids: list[int] = []
                async with pool.acquire() as conn:
                    for _ in range(15):  # many small transactions interleaving with the relays
                        ids += await emit_published(conn, 5)
                return ids

            batches = await asyncio.gather(*(writer() for _ in range(4)))
        finally:
            await pool.close()
        expected = sorted(i for batch in batches for i in batch)
        await wait_until(lambda: no_pending_jobs(runs), within=60)
        published = [w.ctx["relay"].published for w in workers]
    assert len(expected) == 300
    assert sum(published) == 300, "each event was published by exactly one relay"
    record = await runs_per_event(runs, "record")
    assert sorted(record) == expected
    assert set(record.values()) == {1}, "no job ran twice"
    message_ids = [m.message["Message-ID"] for m in mail_sink.messages]
    assert len(message_ids) == 300
    assert len(set(message_ids)) == 300, "no mail went out twice"
    workers_used = await runs.fetchval("SELECT count(DISTINCT worker_id) FROM test_runs")
    assert workers_used >= 1


async def test_ordered_jobs_see_each_aggregates_events_one_at_a_time_in_order(
    runs: Connection, worker_settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(ROUTES, "meeting.published", ("relay_test_ordered",))
    aggregates = [uuid4() for _ in range(8)]
    async with running_workers(worker_settings, count=2):
        async with runs.transaction():
            for _ in range(5):
                for aggregate in aggregates:  # interleaved: neighbours in the outbox belong to other aggregates
                    await emit(runs, aggregate, MeetingPublished(meeting_id=aggregate, sequence=0, revision=1))
        await wait_until(lambda: no_pending_jobs(runs), within=20)
    for aggregate in aggregates:
        rows = await runs.fetch(
            "SELECT outbox_id, started, ended FROM test_runs WHERE aggregate_id = $1 ORDER BY started", aggregate
        )
        ids = [r["outbox_id"] for r in rows]
        assert ids == sorted(ids), "ran in outbox order"
        assert len(ids) == 5
        for before, after in itertools.pairwise(rows):
            assert before["ended"] <= after["started"], "never two at once for one aggregate"


async def test_jobs_whose_enqueue_was_lost_are_found_and_run(
    runs: Connection, worker_settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """A relay that died between its commit and the Redis enqueue leaves ledger rows without jobs."""
    monkeypatch.setitem(ROUTES, "meeting.published", ("relay_test_record",))
    ids = await emit_published(runs, 3)
    # What a relay commits before it enqueues — and then it "dies".
    await runs.execute("UPDATE outbox SET published_at = now()")
    await runs.execute(
        "INSERT INTO event_jobs (outbox_id, job, checked_at) SELECT id, 'relay_test_record', now() - interval '1 hour' "
        "FROM outbox"
    )
    async with running_workers(worker_settings):
        await wait_until(lambda: no_pending_jobs(runs))
    assert await runs_per_event(runs, "record") == dict.fromkeys(ids, 1)
    generations = await runs.fetch("SELECT DISTINCT generation FROM event_jobs")
    assert [r["generation"] for r in generations] == [1], "re-enqueued under a new job id"


async def test_purge_removes_only_old_finished_events(runs: Connection, pool: Pool):
    old_done, old_pending, old_dead, recent = await emit_published(runs, 4)
    await runs.execute(
        "UPDATE outbox SET published_at = now() - interval '40 days' WHERE id = ANY($1)",
        [old_done, old_pending, old_dead],
    )
    await runs.execute("UPDATE outbox SET published_at = now() WHERE id = $1", recent)
    await runs.execute(
        "INSERT INTO event_jobs (outbox_id, job, status) VALUES ($1, 'a', 'done'), ($2, 'a', 'pending'), "
        "($3, 'a', 'dead'), ($4, 'a', 'done')",
        old_done,
        old_pending,
        old_dead,
        recent,
    )
    assert await purge(pool, FAST) == 1
    left = await runs.fetch("SELECT id FROM outbox ORDER BY id")
    assert [r["id"] for r in left] == [old_pending, old_dead, recent]
    assert await runs.fetchval("SELECT count(*) FROM event_jobs WHERE outbox_id = $1", old_done) == 0
