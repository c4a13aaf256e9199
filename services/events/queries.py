"""Reading the event log (the outbox) in an order that never skips a late-committing event.

`outbox.id` is assigned at INSERT, so a transaction that inserted id 10 may commit after another
committed id 11; a reader that already moved its cursor past 11 would never see 10. Instead the
log is ordered by (tx_id, id), where tx_id is the writing transaction's id, and only rows whose
transaction is older than every transaction still running are served
(`tx_id < pg_snapshot_xmin(pg_current_snapshot())`). Every row that can still appear then sorts
after every row already served. A long-running write transaction delays (never hides) newer events.
"""

from __future__ import annotations

from uuid import UUID

from schemas.events import Event
from services.db import Connection
from services.outbox import event_from_row


def organisation_scope(alias: str, param: str) -> str:
    """SQL: the event concerns a meeting the organisation in `param` organises (events without a meeting: no)."""
    return (
        f"EXISTS (SELECT 1 FROM meetings m WHERE m.id = ({alias}.payload ->> 'meeting_id')::uuid "
        f"AND {param} = ANY(m.organiser_codes))"
    )


_LIST = f"""
SELECT o.id, o.event_id, o.type, o.aggregate_id, o.occurred_at, o.version, o.payload,
       o.tx_id::text::bigint AS tx
FROM outbox o
WHERE o.tx_id < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
  AND (o.tx_id, o.id) > ($1::bigint::text::xid8, $2::bigint)
  AND ($3::text IS NULL OR o.type = $3)
  AND ($4::uuid IS NULL OR o.aggregate_id = $4)
  AND ($5::text IS NULL OR {organisation_scope("o", "$5")})
ORDER BY o.tx_id, o.id
LIMIT $6
"""


async def list_events(
    conn: Connection,
    *,
    after: tuple[int, int] = (0, 0),
    event_type: str | None = None,
    aggregate_id: UUID | None = None,
    organisation_code: str | None = None,
    limit: int = 100,
) -> tuple[list[Event], tuple[int, int] | None]:
    """A page of events after the cursor position (tx, id); returns the events and the last position."""
    rows = await conn.fetch(_LIST, after[0], after[1], event_type, aggregate_id, organisation_code, limit)
    last = (int(rows[-1]["tx"]), int(rows[-1]["id"])) if rows else None
    return [event_from_row(r) for r in rows], last
