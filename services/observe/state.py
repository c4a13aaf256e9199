"""Gauges read from PostgreSQL and Redis at scrape time: the state of the shared backbone, not of one process.

Every API replica answers the same figures (they read the same database), so dashboards take `max()` over replicas.
Each statement is an index range scan on a partial index (outbox_unpublished, event_jobs_pending,
scheduled_tasks_due, reminders_due, evaluation_requests_due, dead_letters_open), so a scrape stays cheap at any
table size. When PostgreSQL or Redis does not answer within a second, `leerkring_backbone_up` says so and the rest
is left out rather than reported as zero.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis

from services.db import Pool, required

log = logging.getLogger(__name__)

SCRAPE_SECONDS = 1.0
# Scheduled work counts as late once it is this far past due: the worker's sweeps run every second or so.
LATE_AFTER_SECONDS = 300
ARQ_QUEUE = "arq:queue"  # arq's default queue (workers/runner.py keeps it)

_OUTBOX = """
SELECT count(*) AS unpublished,
       coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::float8 AS lag
FROM outbox WHERE published_at IS NULL
"""
_JOBS = "SELECT count(*) FROM event_jobs WHERE status = 'pending'"
_DEAD_LETTERS = "SELECT count(*) FROM dead_letters WHERE resolved_at IS NULL"
_WORKERS = "SELECT count(*) FROM worker_processes WHERE stopped_at IS NULL AND seen_at > now() - interval '30 seconds'"
# Due: may run now. Late: due for longer than LATE_AFTER_SECONDS (the worker is not keeping up, or not running).
_SCHEDULED = """
SELECT kind, count(*) AS due,
       count(*) FILTER (WHERE due_at < now() - make_interval(secs => $1)) AS late,
       coalesce(extract(epoch FROM now() - min(due_at)), 0)::float8 AS oldest
FROM (
    SELECT kind, due_at FROM scheduled_tasks WHERE status = 'pending' AND due_at <= now()
    UNION ALL
    SELECT 'reminder', due_at FROM reminders WHERE status = 'pending' AND due_at <= now()
    UNION ALL
    SELECT 'evaluation_request', next_at FROM evaluation_requests WHERE NOT answered AND next_at <= now()
) due
GROUP BY kind
"""


class Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


async def _database(pool: Pool) -> list[Metric]:
    async with pool.acquire(timeout=SCRAPE_SECONDS) as conn:
        outbox = required(await conn.fetchrow(_OUTBOX))
        pending = await conn.fetchval(_JOBS)
        dead = await conn.fetchval(_DEAD_LETTERS)
        workers = await conn.fetchval(_WORKERS)
        scheduled = await conn.fetch(_SCHEDULED, LATE_AFTER_SECONDS)
    due = GaugeMetricFamily("leerkring_scheduled_due", "Scheduled work that may run now, by kind", labels=["kind"])
    late = GaugeMetricFamily(
        "leerkring_scheduled_late", f"Scheduled work over {LATE_AFTER_SECONDS} s past due, by kind", labels=["kind"]
    )
    oldest = GaugeMetricFamily(
        "leerkring_scheduled_oldest_due_seconds", "How long the oldest due item has waited, by kind", labels=["kind"]
    )
    for row in scheduled:
        due.add_metric([row["kind"]], row["due"])
        late.add_metric([row["kind"]], row["late"])
        oldest.add_metric([row["kind"]], row["oldest"])
    return [
        _gauge("leerkring_outbox_lag_seconds", "Age of the oldest unpublished outbox event (0: none)", outbox["lag"]),
        _gauge("leerkring_outbox_unpublished", "Outbox events not yet relayed", outbox["unpublished"]),
        _gauge("leerkring_jobs_pending", "Event jobs routed but not yet done or dead (event_jobs)", pending),
        _gauge("leerkring_dead_letters_open", "Dead letters nobody resolved yet", dead),
        _gauge("leerkring_workers_alive", "Worker processes that heart-beat in the last 30 s", workers),
        due,
        late,
        oldest,
    ]


async def _redis(redis: Redis) -> list[Metric]:
    depth = await redis.zcard(ARQ_QUEUE)
    return [_gauge("leerkring_queue_depth", "Jobs waiting in arq's queue in Redis (ready and deferred)", depth)]


async def backbone(pool: Pool, redis: Redis) -> CollectorRegistry:
    """A registry holding the scrape-time gauges; never raises for an unreachable database or Redis."""
    up = GaugeMetricFamily("leerkring_backbone_up", "1 when this scrape could read the part", labels=["part"])
    families: list[Metric] = []
    reads: list[tuple[str, Callable[[], Awaitable[list[Metric]]]]] = [
        ("database", functools.partial(_database, pool)),
        ("redis", functools.partial(_redis, redis)),
    ]
    for part, read in reads:
        try:
            async with asyncio.timeout(SCRAPE_SECONDS * 2):
                families.extend(await read())
            up.add_metric([part], 1)
        except Exception as exc:  # a scrape must answer; the gauge says what it could not read
            log.warning("metrics: could not read the %s: %s", part, type(exc).__name__)
            up.add_metric([part], 0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families([up, *families]))
    return registry
