"""Scheduled work lives in PostgreSQL: rows in `scheduled_tasks` with a `due_at`.

A worker sweep (`run_due`, in workers/sweeps.py) claims due rows with FOR UPDATE SKIP LOCKED and
runs the handler registered for their kind *inside the same transaction*. Handlers only write to
PostgreSQL — typically they `emit` an event, and the outbox carries the work on from there — so a
task is done exactly when its effect is committed. Redis is never involved: FLUSHALL cannot lose a
scheduled task, and a crash mid-sweep just rolls the claim back.

A task may be anchored to a meeting time (`anchor='starts_at'`, `offset=-24h` for a reminder a day
before): `retime` then moves it along when the meeting moves.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import msgspec

from services.db import Connection, required
from services.deadletters.service import record as record_dead_letter

log = logging.getLogger(__name__)

Anchor = Literal["starts_at", "ends_at"]
MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 5.0


class ScheduledTask(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: str
    aggregate_id: UUID
    dedupe_key: str
    due_at: datetime
    payload: dict[str, Any]
    attempts: int


# A handler returns None when the task is done, or a later time to be called again then.
TaskHandler = Callable[[Connection, ScheduledTask], Awaitable[datetime | None]]
HANDLERS: dict[str, TaskHandler] = {}


def handler(kind: str) -> Callable[[TaskHandler], TaskHandler]:
    """Register the handler for a task kind. It runs in the sweep's transaction and must only write to PostgreSQL."""

    def register(fn: TaskHandler) -> TaskHandler:
        if HANDLERS.get(kind, fn) is not fn:
            raise RuntimeError(f"a handler for task kind {kind!r} is already registered")
        HANDLERS[kind] = fn
        return fn

    return register


async def schedule(
    conn: Connection,
    kind: str,
    aggregate_id: UUID,
    due_at: datetime,
    *,
    payload: Mapping[str, Any] | None = None,
    dedupe_key: str = "",
    anchor: Anchor | None = None,
    offset: timedelta = timedelta(0),
) -> int:
    """Schedule (or move) the task (kind, aggregate, dedupe_key); returns its id. A task already done stays done."""
    value = await conn.fetchval(
        """
        WITH upsert AS (
            INSERT INTO scheduled_tasks (kind, aggregate_id, dedupe_key, due_at, payload, anchor, anchor_offset)
            VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
            ON CONFLICT (kind, aggregate_id, dedupe_key) DO UPDATE
            SET due_at = EXCLUDED.due_at, payload = EXCLUDED.payload, anchor = EXCLUDED.anchor,
                anchor_offset = EXCLUDED.anchor_offset, status = 'pending', attempts = 0, last_error = NULL,
                updated_at = now()
            WHERE scheduled_tasks.status IN ('pending', 'cancelled')
            RETURNING id
        )
        SELECT id FROM upsert
        UNION ALL SELECT id FROM scheduled_tasks WHERE kind = $1 AND aggregate_id = $2 AND dedupe_key = $3
        LIMIT 1
        """,
        kind,
        aggregate_id,
        dedupe_key,
        due_at,
        dict(payload or {}),
        anchor,
        offset,
    )
    return int(required(value))


async def retime(
    conn: Connection,
    aggregate_id: UUID,
    *,
    anchors: Mapping[Anchor, datetime] | None = None,
    delta: timedelta | None = None,
) -> int:
    """Move the aggregate's pending tasks: anchored ones to anchor time + offset (`anchors`), or all by `delta`.

    Returns how many tasks moved.
    """
    if anchors is not None:
        status = await conn.execute(
            """
            UPDATE scheduled_tasks
            SET due_at = ($2::jsonb ->> anchor)::timestamptz + anchor_offset, updated_at = now()
            WHERE aggregate_id = $1 AND status = 'pending' AND anchor IS NOT NULL AND $2::jsonb ? anchor
              AND due_at IS DISTINCT FROM ($2::jsonb ->> anchor)::timestamptz + anchor_offset
            """,
            aggregate_id,
            {name: when.isoformat() for name, when in anchors.items()},
        )
    elif delta is not None:
        status = await conn.execute(
            "UPDATE scheduled_tasks SET due_at = due_at + $2, updated_at = now() "
            "WHERE aggregate_id = $1 AND status = 'pending'",
            aggregate_id,
            delta,
        )
    else:
        raise ValueError("retime needs anchors or delta")
    return int(status.split()[-1])


async def cancel(conn: Connection, kind: str | None, aggregate_id: UUID) -> int:
    """Cancel the aggregate's pending tasks (of one kind, or all with kind=None); returns how many."""
    status = await conn.execute(
        """
        UPDATE scheduled_tasks SET status = 'cancelled', updated_at = now()
        WHERE aggregate_id = $1 AND status = 'pending' AND ($2::text IS NULL OR kind = $2)
        """,
        aggregate_id,
        kind,
    )
    return int(status.split()[-1])


async def run_due(conn: Connection, *, limit: int = 100) -> int:
    """Run the handlers of due tasks, in the caller's transaction; returns how many tasks finished.

    A failing handler is rolled back to its savepoint and retried with backoff; after MAX_ATTEMPTS
    the task is `failed` and a dead letter records it. Kinds without a handler in this process are
    left alone (a newer worker may know them).
    """
    if not HANDLERS:
        return 0
    rows = await conn.fetch(
        """
        SELECT id, kind, aggregate_id, dedupe_key, due_at, payload, attempts FROM scheduled_tasks
        WHERE status = 'pending' AND due_at <= now() AND kind = ANY($1::text[])
        ORDER BY due_at LIMIT $2
        FOR UPDATE SKIP LOCKED
        """,
        list(HANDLERS),
        limit,
    )
    finished = 0
    for row in rows:
        task = ScheduledTask(**dict(row))
        try:
            async with conn.transaction():
                later = await HANDLERS[task.kind](conn, task)
        except Exception as exc:
            await _failed(conn, task, exc)
            continue
        if later is not None:
            await conn.execute(
                "UPDATE scheduled_tasks SET due_at = $2, claimed_at = now(), updated_at = now() WHERE id = $1",
                task.id,
                later,
            )
            continue
        await conn.execute(
            "UPDATE scheduled_tasks SET status = 'done', done_at = now(), claimed_at = now(), updated_at = now() "
            "WHERE id = $1",
            task.id,
        )
        finished += 1
    return finished


async def _failed(conn: Connection, task: ScheduledTask, exc: Exception) -> None:
    attempts = task.attempts + 1
    error = f"{type(exc).__name__}: {exc}"
    if attempts >= MAX_ATTEMPTS:
        log.error("scheduled task %s (%s) failed %d times: %s", task.id, task.kind, attempts, error)
        await conn.execute(
            "UPDATE scheduled_tasks SET status = 'failed', attempts = $2, last_error = $3, claimed_at = now(), "
            "updated_at = now() WHERE id = $1",
            task.id,
            attempts,
            error[:4000],
        )
        await record_dead_letter(
            conn,
            job=f"task:{task.kind}",
            args={"task_id": task.id, "kind": task.kind, "aggregate_id": str(task.aggregate_id)},
            error=error,
            attempts=attempts,
            task_id=task.id,
        )
        return
    delay = timedelta(seconds=RETRY_BASE_SECONDS * 2 ** (attempts - 1))
    log.warning("scheduled task %s (%s) failed, retry in %s: %s", task.id, task.kind, delay, error)
    await conn.execute(
        "UPDATE scheduled_tasks SET attempts = $2, last_error = $3, due_at = now() + $4, claimed_at = now(), "
        "updated_at = now() WHERE id = $1",
        task.id,
        attempts,
        error[:4000],
        delay,
    )
