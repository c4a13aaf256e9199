"""The registration rush: one statement that takes a seat or a place in the queue, and its event."""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg

from schemas.events import RegistrationConfirmed, RegistrationWaitlisted
from services.db import Connection
from services.observe import tracing
from services.observe.context import current_request_id
from services.outbox import EVENT_VERSION
from services.seats.queries import ACTIVE_SQL, R_COLUMNS, REG_COLUMNS

# The registration rush in one statement: lock the meeting, decide seat or waiting list (rules.admit, in SQL),
# insert, bump the counters, and write the event to the outbox exactly as services.outbox.emit would (same
# columns, same payload as msgspec encodes the Struct). The hot meeting row stays locked until COMMIT, and every
# round trip between the app and PostgreSQL inside that window is time nobody else can register: emit() would add
# two (INSERT, NOTIFY), each waiting for a busy event loop to come back to this request. Run on its own (see
# registrations.controllers) the statement commits as it finishes, so the lock lasts only as long as PostgreSQL
# needs to execute and commit it. Measured with bench/bench_registrations.py on the shared 2-core box: the HTTP
# rush did ~0.5 of the bare "lock, count, insert" loop with emit() and the request transaction, and 0.7-1.3 this way.
# tests/integration/test_registrations.py checks the event decodes to the Struct emit() would have written.
# A participant who already holds an active registration hits ON CONFLICT and nothing changes: the caller then
# returns the existing one. $4 lets organisers register outside the registration window.
RESERVE = f"""
WITH d AS (
    SELECT id, waitlist_enabled, waitlist_seq,
           confirmed_count + offered_count < capacity AND waitlisted_count = 0 AS seat
    FROM meetings
    WHERE id = $1 AND status = 'published' AND ends_at > now()
      AND ($4 OR ((registration_opens_at IS NULL OR registration_opens_at <= now())
                  AND coalesce(registration_closes_at, starts_at) > now()))
    FOR UPDATE
), r AS (
    INSERT INTO registrations (id, meeting_id, participant_id, status, position, source, created_by, confirmed_at)
    SELECT $2, d.id, $3,
           CASE WHEN d.seat THEN 'confirmed' ELSE 'waitlisted' END,
           CASE WHEN d.seat THEN NULL ELSE d.waitlist_seq + 1 END,
           $5, $6,
           CASE WHEN d.seat THEN now() END
    FROM d WHERE d.seat OR d.waitlist_enabled
    ON CONFLICT (meeting_id, participant_id) WHERE status IN {ACTIVE_SQL} DO NOTHING
    RETURNING {REG_COLUMNS}
), m AS (
    UPDATE meetings SET confirmed_count = confirmed_count + (r.status = 'confirmed')::int,
                        waitlisted_count = waitlisted_count + (r.status = 'waitlisted')::int,
                        waitlist_seq = waitlist_seq + (r.status = 'waitlisted')::int
    FROM r WHERE meetings.id = r.meeting_id
    RETURNING meetings.waitlisted_count
), e AS (
    INSERT INTO outbox (event_id, type, aggregate_id, version, payload, request_id, trace_parent)
    SELECT $7, CASE WHEN r.status = 'confirmed' THEN $9 ELSE $10 END, r.meeting_id, $8,
           CASE WHEN r.status = 'confirmed'
                THEN jsonb_build_object('type', $9::text, 'registration_id', r.id, 'meeting_id', r.meeting_id,
                                        'participant_id', r.participant_id, 'previous_status', '')
                ELSE jsonb_build_object('type', $10::text, 'registration_id', r.id, 'meeting_id', r.meeting_id,
                                        'participant_id', r.participant_id, 'position', r.position)
           END,
           $11, $12
    FROM r
    RETURNING event_id
)
SELECT d.seat, d.waitlist_enabled, (SELECT waitlisted_count FROM m) AS rank,
       (SELECT count(*) FROM e) AS events, {R_COLUMNS}
FROM d LEFT JOIN r ON true
"""
CONFIRMED_TYPE = str(RegistrationConfirmed.__struct_config__.tag)
WAITLISTED_TYPE = str(RegistrationWaitlisted.__struct_config__.tag)


async def reserve(
    conn: Connection,
    *,
    meeting_id: UUID,
    registration_id: UUID,
    participant_id: UUID,
    any_time: bool,
    source: str,
    created_by: UUID | None,
) -> asyncpg.Record | None:
    """None: the meeting is not open for registration. Otherwise `id` is NULL when nothing was inserted.
    When a registration was inserted, its `registration.confirmed`/`registration.waitlisted` event is written too,
    in the same statement: atomic with or without a surrounding transaction."""
    row = await conn.fetchrow(
        RESERVE,
        meeting_id,
        registration_id,
        participant_id,
        any_time,
        source,
        created_by,
        uuid4(),
        EVENT_VERSION,
        CONFIRMED_TYPE,
        WAITLISTED_TYPE,
        current_request_id(),
        tracing.traceparent(),
    )
    if row is not None and row["events"]:
        # Wake the relay. Outside a transaction this runs after RESERVE committed, so the relay finds the row, and
        # the NOTIFY (which takes a cluster-wide lock at commit) stays out of the hot meeting lock. Should the process
        # die in between, the relay's periodic sweep still publishes the event.
        await conn.execute("SELECT pg_notify('outbox', '')")
    return row
