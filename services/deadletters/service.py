"""Dead letters: recording work that kept failing, listing it, and re-running it on request.

Re-running writes only to PostgreSQL (the job ledger row or the scheduled task becomes pending
again); the worker's maintenance loop picks that up within a second and enqueues it. So the API
never talks to Redis, and a re-run asked for while Redis is down is not lost.
"""

from __future__ import annotations

from typing import Any

from schemas.deadletters import DeadLetter, DeadLetterStatus
from services.db import Connection, required
from services.errors import Conflict, NotFound

_COLUMNS = "id, job, args, outbox_id, task_id, error, attempts, failed_at, resolved_at, resolution"


def _to_struct(row: Any) -> DeadLetter:
    return DeadLetter(**dict(row))


async def record(
    conn: Connection,
    *,
    job: str,
    args: dict[str, Any],
    error: str,
    attempts: int,
    outbox_id: int | None = None,
    task_id: int | None = None,
) -> int:
    """Store one dead letter; returns its id."""
    value = await conn.fetchval(
        """
        INSERT INTO dead_letters (job, args, outbox_id, task_id, error, attempts)
        VALUES ($1, $2::jsonb, $3, $4, $5, $6) RETURNING id
        """,
        job,
        args,
        outbox_id,
        task_id,
        error[:8000],
        attempts,
    )
    return int(required(value))


async def list_dead_letters(
    conn: Connection, *, status: DeadLetterStatus = "open", before_id: int | None = None, limit: int = 50
) -> list[DeadLetter]:
    """Newest first; page with `before_id` (the last id of the previous page)."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM dead_letters
        WHERE ($1 = 'all' OR ($1 = 'open') = (resolved_at IS NULL))
          AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC LIMIT $3
        """,
        status,
        before_id,
        limit,
    )
    return [_to_struct(r) for r in rows]


async def get(conn: Connection, dead_letter_id: int) -> DeadLetter:
    """Raises NotFound."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM dead_letters WHERE id = $1", dead_letter_id)
    if row is None:
        raise NotFound(f"Dead letter {dead_letter_id} bestaat niet")
    return _to_struct(row)


async def retry(conn: Connection, dead_letter_id: int) -> DeadLetter:
    """Make the failed work pending again and mark the dead letter resolved.

    Raises NotFound, Conflict when it was already resolved or its event no longer exists.
    """
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM dead_letters WHERE id = $1 FOR UPDATE", dead_letter_id)
    if row is None:
        raise NotFound(f"Dead letter {dead_letter_id} bestaat niet")
    letter = _to_struct(row)
    if letter.resolved_at is not None:
        raise Conflict(f"Dead letter {dead_letter_id} is al afgehandeld ({letter.resolution})")
    if letter.task_id is not None:
        revived = await conn.execute(
            """
            UPDATE scheduled_tasks SET status = 'pending', attempts = 0, due_at = now(), last_error = NULL,
                                       updated_at = now()
            WHERE id = $1 AND status = 'failed'
            """,
            letter.task_id,
        )
    else:
        # '-infinity' asks the worker's maintenance loop to enqueue it now (workers/recovery.py).
        revived = await conn.execute(
            """
            UPDATE event_jobs SET status = 'pending', attempts = 0, checked_at = '-infinity', last_error = NULL,
                                  finished_at = NULL
            WHERE outbox_id = $1 AND job = $2 AND status = 'dead'
            """,
            letter.outbox_id,
            letter.job,
        )
    if revived.endswith(" 0"):
        raise Conflict("Het werk bij deze dead letter bestaat niet meer of loopt al opnieuw")
    updated = await conn.fetchrow(
        f"UPDATE dead_letters SET resolved_at = now(), resolution = 'retried' WHERE id = $1 RETURNING {_COLUMNS}",
        dead_letter_id,
    )
    return _to_struct(required(updated))
