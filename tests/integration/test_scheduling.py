"""Scheduled work in PostgreSQL: schedule, retime, cancel, run when due — once, whatever happens to Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services import scheduling
from services.db import Connection
from services.settings import Settings
from tests.factories import meeting_body
from workers.routes import ROUTES
from workers.testing import running_workers, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]

PING = "scheduling_test.ping"


@scheduling.handler(PING)
async def ping(conn: Connection, task: scheduling.ScheduledTask) -> datetime | None:
    """Records each run; the payload steers it: fail, or ask to be called again later."""
    await conn.execute("INSERT INTO test_pings (task_id) VALUES ($1)", task.id)
    if task.payload.get("fail"):
        raise RuntimeError("ping mislukt")
    later = task.payload.get("later")
    if later and task.due_at < datetime.fromisoformat(later):
        return datetime.fromisoformat(later)
    return None


@pytest.fixture
async def pings(conn: Connection) -> Connection:
    await conn.execute("CREATE TABLE test_pings (task_id bigint, at timestamptz DEFAULT clock_timestamp())")
    return conn


@pytest.fixture
def schedule_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the meeting schedule job: these tests are about it, not about other features' jobs."""
    for event_type in ("meeting.published", "meeting.updated", "meeting.cancelled"):
        monkeypatch.setitem(ROUTES, event_type, ("sync_meeting_schedule",))
    monkeypatch.setitem(ROUTES, "meeting.ended", ())


async def task_row(conn: Connection, aggregate_id: UUID, kind: str = PING) -> Any:
    return await conn.fetchrow(
        "SELECT id, status, due_at, attempts, last_error FROM scheduled_tasks WHERE aggregate_id = $1 AND kind = $2",
        aggregate_id,
        kind,
    )


async def run_due(conn: Connection) -> int:
    async with conn.transaction():
        return await scheduling.run_due(conn)


async def test_schedule_is_an_upsert_and_runs_once_when_due(pings: Connection):
    aggregate = uuid4()
    now = datetime.now(UTC)
    first = await scheduling.schedule(pings, PING, aggregate, now + timedelta(hours=1))
    again = await scheduling.schedule(pings, PING, aggregate, now - timedelta(seconds=1))
    assert first == again, "one task per (kind, aggregate, dedupe key)"
    other = await scheduling.schedule(pings, PING, aggregate, now + timedelta(hours=1), dedupe_key="b")
    assert other != first
    assert await run_due(pings) == 1
    assert await run_due(pings) == 0, "done is done"
    assert (await task_row(pings, aggregate))["status"] == "done"
    assert await pings.fetchval("SELECT count(*) FROM test_pings") == 1
    # Scheduling a task that already ran does not revive it.
    await scheduling.schedule(pings, PING, aggregate, now - timedelta(seconds=1))
    assert await run_due(pings) == 0


async def test_retime_follows_anchors_or_shifts_by_a_delta(pings: Connection):
    meeting = uuid4()
    starts = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    ends = starts + timedelta(hours=3)
    await scheduling.schedule(
        pings, "reminder", meeting, starts - timedelta(days=1), anchor="starts_at", offset=-timedelta(days=1)
    )
    await scheduling.schedule(pings, "ended", meeting, ends, anchor="ends_at")
    await scheduling.schedule(pings, "fixed", meeting, starts)
    moved = await scheduling.retime(
        pings, meeting, anchors={"starts_at": starts + timedelta(hours=2), "ends_at": ends + timedelta(hours=2)}
    )
    assert moved == 2
    due = {r["kind"]: r["due_at"] for r in await pings.fetch("SELECT kind, due_at FROM scheduled_tasks")}
    assert due == {
        "reminder": starts + timedelta(hours=2, days=-1),
        "ended": ends + timedelta(hours=2),
        "fixed": starts,
    }
    assert await scheduling.retime(pings, meeting, delta=timedelta(minutes=30)) == 3
    assert (await task_row(pings, meeting, "fixed"))["due_at"] == starts + timedelta(minutes=30)
    with pytest.raises(ValueError, match="anchors or delta"):
        await scheduling.retime(pings, meeting)


async def test_cancelled_tasks_do_not_run(pings: Connection):
    aggregate = uuid4()
    await scheduling.schedule(pings, PING, aggregate, datetime.now(UTC) - timedelta(seconds=1))
    assert await scheduling.cancel(pings, None, aggregate) == 1
    assert await run_due(pings) == 0
    assert (await task_row(pings, aggregate))["status"] == "cancelled"


async def test_a_handler_may_ask_to_be_called_later(pings: Connection):
    aggregate = uuid4()
    later = datetime.now(UTC) + timedelta(hours=1)
    await scheduling.schedule(
        pings, PING, aggregate, datetime.now(UTC) - timedelta(seconds=1), payload={"later": later.isoformat()}
    )
    assert await run_due(pings) == 0
    row = await task_row(pings, aggregate)
    assert (row["status"], row["due_at"]) == ("pending", later)


async def test_a_failing_handler_backs_off_then_becomes_a_dead_letter(pings: Connection):
    aggregate = uuid4()
    await scheduling.schedule(pings, PING, aggregate, datetime.now(UTC) - timedelta(seconds=1), payload={"fail": True})
    for attempt in range(1, scheduling.MAX_ATTEMPTS + 1):
        assert await run_due(pings) == 0
        row = await task_row(pings, aggregate)
        assert row["attempts"] == attempt
        assert "ping mislukt" in row["last_error"]
        if attempt < scheduling.MAX_ATTEMPTS:
            assert row["status"] == "pending"
            assert row["due_at"] > datetime.now(UTC), "backs off"
            await pings.execute("UPDATE scheduled_tasks SET due_at = now() WHERE id = $1", row["id"])
    assert row["status"] == "failed"
    # The handler's own writes were rolled back with each failure.
    assert await pings.fetchval("SELECT count(*) FROM test_pings") == 0
    letter = await pings.fetchrow("SELECT job, task_id, attempts FROM dead_letters")
    assert tuple(letter) == (f"task:{PING}", row["id"], scheduling.MAX_ATTEMPTS)


async def create_meeting(client: Client, headers: dict[str, str], ends_in: timedelta, publish: bool = True) -> str:
    """A meeting ending `ends_in` from now; it starts half an hour earlier, or now when that is sooner. A meeting that
    has begun cannot be published, so a published one is planned tomorrow, published and then moved to that time."""
    ends = datetime.now(UTC) + ends_in
    start = max(datetime.now(UTC), ends - timedelta(minutes=30))
    times = {"starts_at": start.isoformat(), "ends_at": ends.isoformat()}
    planned = {k: (datetime.fromisoformat(v) + timedelta(days=1)).isoformat() for k, v in times.items()}
    body = meeting_body(**(planned if publish else times))
    created = await client.post("/api/v1/meetings", json=body, headers=headers)
    assert created.status_code == 201, created.text
    meeting_id: str = created.json()["id"]
    if publish:
        published = await client.post(f"/api/v1/meetings/{meeting_id}/publish", headers=headers)
        assert published.status_code == 200, published.text
        moved = await client.patch(f"/api/v1/meetings/{meeting_id}", json=times, headers=headers)
        assert moved.status_code == 200, moved.text
    return meeting_id


async def ended_events(conn: Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT aggregate_id, count(*) AS n FROM outbox WHERE type = 'meeting.ended' GROUP BY 1")
    return {str(r["aggregate_id"]): r["n"] for r in rows}


async def test_a_published_meeting_emits_meeting_ended_once_when_it_ends(
    conn: Connection, client: Client, vng: dict[str, str], worker_settings: Settings, schedule_routes: None
):
    async with running_workers(worker_settings):
        meeting_id = await create_meeting(client, vng, ends_in=timedelta(seconds=1))
        await wait_until(lambda: _has_ended(conn, meeting_id), within=5)
        await wait_until(lambda: _all_done(conn))
    assert await ended_events(conn) == {meeting_id: 1}
    task = await task_row(conn, UUID(meeting_id), "meeting.ended")
    assert task["status"] == "done"


async def test_rescheduling_moves_the_task_and_cancelling_drops_it(
    conn: Connection, client: Client, vng: dict[str, str], worker_settings: Settings, schedule_routes: None
):
    async with running_workers(worker_settings):
        moved = await create_meeting(client, vng, ends_in=timedelta(days=3))
        dropped = await create_meeting(client, vng, ends_in=timedelta(seconds=1.5))
        await wait_until(lambda: _task_count(conn, 2))
        # A reminder a day before the start, anchored to it (the kind later issues will add).
        await scheduling.schedule(
            conn, "reminder", UUID(moved), datetime.now(UTC), anchor="starts_at", offset=-timedelta(days=1)
        )
        new_end = datetime.now(UTC) + timedelta(seconds=1)
        patched = await client.patch(
            f"/api/v1/meetings/{moved}",
            json={"starts_at": (new_end - timedelta(hours=1)).isoformat(), "ends_at": new_end.isoformat()},
            headers=vng,
        )
        assert patched.status_code == 200, patched.text
        assert (await client.post(f"/api/v1/meetings/{dropped}/cancel", headers=vng)).status_code == 200
        await wait_until(lambda: _has_ended(conn, moved), within=5)
        await wait_until(lambda: _all_done(conn))
    assert await ended_events(conn) == {moved: 1}
    reminder = await task_row(conn, UUID(moved), "reminder")
    assert reminder["due_at"] == new_end - timedelta(hours=1, days=1), "the reminder moved with the start"
    assert (await task_row(conn, UUID(dropped), "meeting.ended"))["status"] == "cancelled"


async def test_flushall_in_the_middle_loses_no_scheduled_work(
    conn: Connection, client: Client, vng: dict[str, str], worker_settings: Settings, schedule_routes: None
):
    redis = Redis.from_url(worker_settings.redis_url or "")
    try:
        async with running_workers(worker_settings):
            meetings = [await create_meeting(client, vng, ends_in=timedelta(seconds=1.5)) for _ in range(12)]
            await redis.flushall()  # some schedule jobs are still queued: gone from Redis
            await wait_until(lambda: _task_count(conn, 12), within=5)
            await redis.flushall()  # the tasks themselves never were in Redis
            await wait_until(lambda: _ended_count(conn, 12), within=8)
            await wait_until(lambda: _all_done(conn))
    finally:
        await redis.aclose()
    assert await ended_events(conn) == dict.fromkeys(meetings, 1)


async def _has_ended(conn: Connection, meeting_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE type = 'meeting.ended' AND aggregate_id = $1", UUID(meeting_id)
        )
    )


async def _ended_count(conn: Connection, count: int) -> bool:
    return await conn.fetchval("SELECT count(*) FROM outbox WHERE type = 'meeting.ended'") >= count  # type: ignore[no-any-return]


async def _task_count(conn: Connection, count: int) -> bool:
    return await conn.fetchval("SELECT count(*) FROM scheduled_tasks WHERE kind = 'meeting.ended'") >= count  # type: ignore[no-any-return]


async def _all_done(conn: Connection) -> bool:
    pending = await conn.fetchval(
        "SELECT (SELECT count(*) FROM event_jobs WHERE status = 'pending') "
        "+ (SELECT count(*) FROM outbox WHERE published_at IS NULL)"
    )
    return pending == 0
