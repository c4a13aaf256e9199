"""The retention purge: run by the worker's maintenance loop, and by tests with a clock of their choosing.

* Participants with no activity for `retention_participant_months` (24) lose name and address (as when they erase
  themselves), their links and open requests; attendance stays, anonymous, so reports do not change.
* Delivery logs (mail claims, invitation lists, invitation answers) go `retention_delivery_months` (12) after the
  send or the meeting.
* Webhook attempt bodies go after `retention_webhook_body_days` (30).
* Open evaluation answers: the evaluations work adds its own expiry here when it lands.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from services.db import Connection
from services.retention import queries as q
from services.settings import Settings


class PurgeResult(msgspec.Struct, frozen=True, kw_only=True):
    participants: int
    deliveries: int
    invitations: int
    invitation_responses: int
    webhook_bodies: int


async def purge(conn: Connection, settings: Settings, *, now: datetime | None = None, batch: int = 1000) -> PurgeResult:
    """Apply every retention rule once at `now` (default: the clock). Each batch is its own transaction."""
    now = now or datetime.now(UTC)
    participants = 0
    while True:
        async with conn.transaction():
            ids = await q.inactive(conn, now=now, months=settings.retention_participant_months, limit=batch)
            if ids:
                participants += await q.anonymise(conn, ids, now=now)
        if len(ids) < batch:
            break
    logs = now - timedelta(days=round(settings.retention_delivery_months * 30.44))
    async with conn.transaction():
        return PurgeResult(
            participants=participants,
            deliveries=await q.expire(conn, q.EXPIRE_DELIVERIES, logs),
            invitations=await q.expire(conn, q.EXPIRE_INVITATIONS, logs),
            invitation_responses=await q.expire(conn, q.EXPIRE_RESPONSES, logs),
            webhook_bodies=await q.expire(
                conn, q.EXPIRE_WEBHOOK_BODIES, now - timedelta(days=settings.retention_webhook_body_days)
            ),
        )
