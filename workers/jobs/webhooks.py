"""Webhook deliveries: every event goes to the matching subscriptions, signed, with retries for ~3 days.

`dispatch_webhooks` (routed from every event type) writes one `webhook_deliveries` row per matching
subscription — unique per (subscription, event), so a re-run adds nothing — and makes the first
attempt at once. Later attempts are not arq jobs: their time lives in `next_attempt_at`, and every
worker's retry loop (`retry_due`) picks due rows. So retries survive a Redis flush and a crash.

Each attempt first moves `next_attempt_at` forward by a lease (a conditional UPDATE), so two
workers never make the same attempt, and a worker that dies mid-attempt leaves a row that becomes
due again after the lease. Delivery is at least once: receivers de-duplicate on Leerkring-Event-Id.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import timedelta
from typing import Any

import httpx
import msgspec

from services.events.queries import organisation_scope
from services.outbox import event_from_row
from services.webhooks import signing
from workers.context import EVENT_COLUMNS, Ctx, http_of, pool_of, tuning_of
from workers.registry import job
from workers.settings import retry_delay

log = logging.getLogger(__name__)

USER_AGENT = "Leerkring-Webhooks/1"
_BODY_SNIPPET = 500
_CONCURRENCY = 10

_FAN_OUT = f"""
INSERT INTO webhook_deliveries (subscription_id, outbox_id, event_id, event_type, give_up_at)
SELECT s.id, o.id, o.event_id, o.type, now() + $2::interval
FROM outbox o
JOIN webhook_subscriptions s
  ON s.active
 AND (cardinality(s.event_types) = 0 OR o.type = ANY(s.event_types))
 AND (s.organisation_code IS NULL OR {organisation_scope("o", "s.organisation_code")})
WHERE o.id = $1
ON CONFLICT (subscription_id, event_id) DO NOTHING
RETURNING id
"""
_TAKE = """
UPDATE webhook_deliveries d
SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
FROM webhook_subscriptions s
WHERE d.id = $1 AND d.status = 'pending' AND d.next_attempt_at <= now() AND s.id = d.subscription_id
RETURNING d.id, d.attempts, d.outbox_id, d.event_id, d.event_type, d.give_up_at, d.subscription_id,
          s.url, s.secret, s.active,
          CASE WHEN s.previous_secret_until > now() THEN s.previous_secret END AS previous_secret
"""
_LOG_ATTEMPT = """
INSERT INTO webhook_attempts (delivery_id, subscription_id, event_id, event_type, attempt, duration_ms,
                              status_code, error, response_body)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""
_DUE = """
SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()
ORDER BY next_attempt_at LIMIT $1
"""


@job()
async def dispatch_webhooks(ctx: dict[str, Any], outbox_id: int) -> None:
    give_up = timedelta(seconds=tuning_of(ctx).webhook_give_up_after)
    rows = await pool_of(ctx).fetch(_FAN_OUT, outbox_id, give_up)
    await _attempt_all(ctx, [int(r["id"]) for r in rows])


async def retry_due(ctx: Ctx) -> int:
    """Attempt every delivery whose next attempt is due; returns how many were due."""
    rows = await pool_of(ctx).fetch(_DUE, tuning_of(ctx).webhook_batch)
    await _attempt_all(ctx, [int(r["id"]) for r in rows])
    return len(rows)


async def _attempt_all(ctx: Ctx, delivery_ids: list[int]) -> None:
    if not delivery_ids:
        return
    limit = asyncio.Semaphore(_CONCURRENCY)

    async def one(delivery_id: int) -> None:
        async with limit:
            await attempt(ctx, delivery_id)

    await asyncio.gather(*(one(i) for i in delivery_ids))


class _Outcome(msgspec.Struct, kw_only=True):
    status_code: int | None = None
    error: str | None = None
    body: str | None = None


async def _post(ctx: Ctx, url: str, body: bytes, headers: dict[str, str]) -> _Outcome:
    # The address check happens in the client's transport, on the address it connects to (webhooks/transport.py).
    try:
        async with http_of(ctx).stream("POST", url, content=body, headers=headers) as response:
            snippet = b""
            async for chunk in response.aiter_bytes():
                snippet += chunk
                if len(snippet) >= _BODY_SNIPPET:
                    break
            return _Outcome(status_code=response.status_code, body=snippet[:_BODY_SNIPPET].decode(errors="replace"))
    except httpx.HTTPError as exc:
        return _Outcome(error=f"{type(exc).__name__}: {exc}"[:1000])


async def attempt(ctx: Ctx, delivery_id: int) -> None:
    """One delivery attempt, if it is still due and nobody else is making it."""
    pool, tuning = pool_of(ctx), tuning_of(ctx)
    row = await pool.fetchrow(_TAKE, delivery_id, tuning.webhook_timeout + 30.0)
    if row is None:
        return
    if not row["active"]:
        await _finish(ctx, delivery_id, "cancelled")
        return
    event_row = await pool.fetchrow(f"SELECT {EVENT_COLUMNS} FROM outbox WHERE id = $1", row["outbox_id"])
    if event_row is None:
        await _finish(ctx, delivery_id, "failed")
        return
    body = msgspec.json.encode(event_from_row(event_row))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.EVENT_ID_HEADER: str(row["event_id"]),
        signing.EVENT_TYPE_HEADER: row["event_type"],
        signing.DELIVERY_HEADER: str(delivery_id),
        signing.SIGNATURE_HEADER: signing.signature(
            row["secret"], body, int(time.time()), *([row["previous_secret"]] if row["previous_secret"] else [])
        ),
    }
    started = time.monotonic()
    outcome = await _post(ctx, row["url"], body, headers)
    duration_ms = int((time.monotonic() - started) * 1000)
    await pool.execute(
        _LOG_ATTEMPT,
        delivery_id,
        row["subscription_id"],
        row["event_id"],
        row["event_type"],
        row["attempts"],
        duration_ms,
        outcome.status_code,
        outcome.error,
        outcome.body,
    )
    code = outcome.status_code
    if code is not None and 200 <= code < 300:
        await _finish(ctx, delivery_id, "succeeded")
    elif code == 410:
        await _disable(ctx, row["subscription_id"], delivery_id)
    else:
        await _schedule_retry(ctx, delivery_id, row["attempts"])


async def _finish(ctx: Ctx, delivery_id: int, status: str) -> None:
    await pool_of(ctx).execute(
        "UPDATE webhook_deliveries SET status = $2, finished_at = now() WHERE id = $1", delivery_id, status
    )


async def _disable(ctx: Ctx, subscription_id: Any, delivery_id: int) -> None:
    """410 Gone: the receiver asks us to stop. Disable the subscription and drop its pending deliveries."""
    async with pool_of(ctx).acquire() as conn, conn.transaction():
        await conn.execute(
            """
            UPDATE webhook_subscriptions
            SET active = false, disabled_at = now(), disabled_reason = 'De ontvanger antwoordde 410 Gone'
            WHERE id = $1
            """,
            subscription_id,
        )
        await conn.execute(
            "UPDATE webhook_deliveries SET status = 'failed', finished_at = now() WHERE id = $1", delivery_id
        )
        await conn.execute(
            """
            UPDATE webhook_deliveries SET status = 'cancelled', finished_at = now()
            WHERE subscription_id = $1 AND status = 'pending'
            """,
            subscription_id,
        )
    log.warning("webhook %s disabled after 410 Gone", subscription_id)


async def _schedule_retry(ctx: Ctx, delivery_id: int, attempts: int) -> None:
    tuning = tuning_of(ctx)
    # Jitter spreads the retries of many deliveries that failed together (a receiver that was down).
    delay = retry_delay(attempts, tuning.webhook_retry_base, tuning.webhook_retry_cap) * random.uniform(0.8, 1.2)  # noqa: S311
    await pool_of(ctx).execute(
        """
        UPDATE webhook_deliveries
        SET status = CASE WHEN now() + $2::interval > give_up_at THEN 'failed' ELSE 'pending' END,
            finished_at = CASE WHEN now() + $2::interval > give_up_at THEN now() END,
            next_attempt_at = now() + $2::interval
        WHERE id = $1
        """,
        delivery_id,
        timedelta(seconds=delay),
    )
