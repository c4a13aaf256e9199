"""Putting event jobs on the arq queue in batches, and asking whether they are still there.

arq's own `enqueue_job` costs a WATCH/EXISTS/MULTI round trip per job. The relay hands over
hundreds at a time, so it writes the same two keys arq would (the job key and the queue entry)
through one Lua script per job, all in one pipeline: one round trip per batch. The script is
atomic, so a job is never half-enqueued, and `SET NX` keeps arq's rule that a job id already in
Redis is not enqueued twice. This relies on arq 0.28's key layout (pinned in pyproject.toml).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

from arq.connections import ArqRedis
from arq.constants import default_queue_name, expires_extra_ms, in_progress_key_prefix, job_key_prefix
from arq.jobs import serialize_job

_ENQUEUE = """
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
    redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
    return 1
end
return 0
"""


class QueuedJob(NamedTuple):
    name: str
    outbox_id: int
    generation: int = 0


def job_id(job: QueuedJob) -> str:
    """Deterministic: `{name}:{outbox_id}`, with `:{generation}` once re-enqueued after a crash or retry,
    so the new job is not refused because the old one is still in Redis."""
    base = f"{job.name}:{job.outbox_id}"
    return base if job.generation == 0 else f"{base}:{job.generation}"


async def enqueue_many(
    redis: ArqRedis, jobs: Sequence[QueuedJob], *, queue_name: str = default_queue_name, defer_ms: int = 0
) -> int:
    """Enqueue `name(outbox_id)` for each job in one round trip; returns how many were new to Redis."""
    if not jobs:
        return 0
    script = redis.register_script(_ENQUEUE)
    now_ms = int(time.time() * 1000)
    score = now_ms + defer_ms
    async with redis.pipeline(transaction=False) as pipe:
        for queued in jobs:
            identifier = job_id(queued)
            payload = serialize_job(queued.name, (queued.outbox_id,), {}, None, now_ms)
            await script(
                keys=[job_key_prefix + identifier, queue_name],
                args=[payload, defer_ms + expires_extra_ms, score, identifier],
                client=pipe,
            )
        results = await pipe.execute()
    return sum(1 for r in results if r == 1)


class InRedis(NamedTuple):
    exists: bool  # queued, deferred for a retry, or running
    in_progress: bool  # some worker took it off the queue


async def present(redis: ArqRedis, jobs: Sequence[QueuedJob]) -> list[InRedis]:
    """What Redis knows of each job."""
    if not jobs:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for queued in jobs:
            identifier = job_id(queued)
            pipe.exists(job_key_prefix + identifier)
            pipe.exists(in_progress_key_prefix + identifier)
        results = await pipe.execute()
    return [InRedis(bool(results[i]), bool(results[i + 1])) for i in range(0, len(results), 2)]


SUSPECT_PREFIX = "leerkring:orphan-suspect:"


async def long_suspected(redis: ArqRedis, jobs: Sequence[QueuedJob], *, older_than: float) -> list[bool]:
    """For jobs that look abandoned: True when one was already suspected `older_than` seconds ago.

    The first sighting only leaves a timestamp (SET NX), so a job caught in the instant between a live
    worker taking it and starting it is never mistaken for one whose worker died.
    """
    if not jobs:
        return []
    now = time.time()
    ttl = max(60, int(older_than * 10))
    async with redis.pipeline(transaction=False) as pipe:
        for queued in jobs:
            key = SUSPECT_PREFIX + job_id(queued)
            pipe.set(key, str(now), nx=True, ex=ttl)
            pipe.get(key)
        results = await pipe.execute()
    return [float(results[i + 1] or now) <= now - older_than for i in range(0, len(results), 2)]
