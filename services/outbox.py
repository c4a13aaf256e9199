"""emit(): the only way a domain event is written, inside the caller's transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import msgspec

from schemas.events import Event, EventPayload, event_type
from services.db import Connection
from services.observe import tracing
from services.observe.context import current_request_id

EVENT_VERSION = 1

# The NOTIFY that wakes the relay rides on the INSERT: one round trip per event, not two. PostgreSQL delivers it on
# commit (never for a rolled-back event), once per transaction however many events it wrote.
_INSERT = """
INSERT INTO outbox (event_id, type, aggregate_id, version, payload, request_id, trace_parent)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
RETURNING pg_notify('outbox', '')
"""

_payload_decoder: msgspec.json.Decoder[EventPayload] = msgspec.json.Decoder(EventPayload)


async def emit(conn: Connection, aggregate_id: UUID, payload: EventPayload) -> UUID:
    """Write one event to the outbox and wake the relay; PostgreSQL delivers the NOTIFY only on commit."""
    if not conn.is_in_transaction():
        raise RuntimeError("emit() must run inside the transaction that changes the state")
    event_id = uuid4()
    await conn.fetchval(
        _INSERT,
        event_id,
        event_type(payload),
        aggregate_id,
        EVENT_VERSION,
        msgspec.json.encode(payload).decode(),
        # The request (or the job) that caused it: its jobs log the same id (services/observe/context.py).
        current_request_id(),
        tracing.traceparent(),
    )
    return event_id


def event_from_row(row: Any) -> Event:
    """Build the public envelope from an `outbox` row."""
    payload = row["payload"]
    if isinstance(payload, str | bytes):
        decoded = _payload_decoder.decode(payload)
    else:
        decoded = msgspec.convert(payload, EventPayload)
    return Event(
        id=row["event_id"],
        seq=row["id"],
        type=row["type"],
        occurred_at=row["occurred_at"],
        aggregate_id=row["aggregate_id"],
        version=row["version"],
        payload=decoded,
    )
