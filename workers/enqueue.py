"""Putting event jobs on the arq queue in batches, and asking whether they are still there.

An event job is `name(outbox_id)` under a deterministic job id (`job_id`), or under load `name(outbox_id, ...)`
for a batch of one job's events (workers/relay.py, workers/ledger.py: execute_batch). The relay hands over hundreds
at a time, so they are enqueued in one round trip; how that is done with arq's keys lives in workers/arq_internals.py.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

from arq.connections import ArqRedis
from arq.constants import default_queue_name

from workers.arq_internals import ArqJob, JobState, job_states, write_jobs


class QueuedJob(NamedTuple):
    """One ledger row (`event_jobs`) on its way to the arq queue."""

    name: str
    outbox_id: int
    generation: int = 0
    # Generation 0 only: the batch (workers/relay.py) whose arq job carries this row, named after its smallest
    # outbox id (event_jobs.batch_lead). None: a job of its own.
    batch_lead: int | None = None


def job_id(job: QueuedJob) -> str:
    """Deterministic: `{name}:{outbox_id}`, or `{name}:{batch_lead}` for every row of a batch, with
    `:{generation}` once re-enqueued after a crash or retry (always alone then), so the new job is not refused
    because the old one is still in Redis."""
    if job.generation:
        return f"{job.name}:{job.outbox_id}:{job.generation}"
    return f"{job.name}:{job.outbox_id if job.batch_lead is None else job.batch_lead}"


async def enqueue_many(
    redis: ArqRedis, jobs: Sequence[QueuedJob], *, queue_name: str = default_queue_name, defer_ms: int = 0
) -> int:
    """Enqueue every job in one round trip, the rows of one batch as one arq job `name(outbox_id, ...)`; returns
    how many arq jobs were new to Redis."""
    carried: dict[str, tuple[str, list[int]]] = {}
    for job in jobs:
        carried.setdefault(job_id(job), (job.name, []))[1].append(job.outbox_id)
    arq_jobs = [ArqJob(identifier, name, tuple(sorted(ids))) for identifier, (name, ids) in carried.items()]
    return await write_jobs(redis, arq_jobs, queue_name=queue_name, defer_ms=defer_ms)


async def present(redis: ArqRedis, jobs: Sequence[QueuedJob]) -> list[JobState]:
    """What Redis knows of each job."""
    return await job_states(redis, [job_id(j) for j in jobs])


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
