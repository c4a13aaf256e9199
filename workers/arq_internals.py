"""Everything that depends on arq's internals, in one place, pinned to arq 0.28 (pyproject.toml).

* `write_jobs`: enqueue many jobs in one round trip by writing the keys arq's `enqueue_job` writes (the job key
  with its serialized payload and expiry, and the queue's sorted-set entry) through one Lua script per job.
  arq's own `enqueue_job` costs a WATCH/EXISTS/MULTI round trip per job; the relay hands over hundreds at once.
  The script is atomic, so a job is never half-enqueued, and it keeps arq's rule that a job id already in
  Redis (queued, running, or with a kept result) is not enqueued again.
* `job_states`: whether a job's key and its in-progress marker exist.
* `ready_jobs`: how many jobs wait on the queue with their time come (arq's queue is a sorted set by run time).
* `LeerkringWorker.start_jobs`: arq's `Worker.start_jobs` in one round trip per poll: one Lua script takes every
  job it can (not in progress, its time come) and sets their in-progress markers, as arq's WATCH/EXISTS/ZSCORE/
  MULTI/PSETEX/EXEC does per job in four round trips, for its own running jobs too on every poll.
* `LeerkringWorker.close`: arq's `Worker.close`, copied step by step, with a deadline on every step.

tests/integration/test_arq_contract.py checks these against arq itself (enqueue with arq and with us and compare;
arq's worker runs what we enqueue; our start_jobs takes what arq's would and leaves alone what arq's would;
`Worker.close` and `Worker.start_jobs` are still the code we copied, ARQ_CLOSE_SHA256 and ARQ_START_JOBS_SHA256),
so an arq upgrade that moves a key or changes either fails there, loudly, instead of in production.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import signal
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from arq.connections import ArqRedis
from arq.constants import (
    default_queue_name,
    expires_extra_ms,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
)
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from arq.worker import Worker

from workers.stopping import StopBudget, all_other_tasks, bounded, describe, stop_tasks

log = logging.getLogger(__name__)

ARQ_VERSION = "0.28.0"
# sha256 of inspect.getsource(arq.worker.Worker.close) in arq 0.28.0, the code LeerkringWorker.close copies.
ARQ_CLOSE_SHA256 = "5bcc9cb35668082910200a680f052cc5d36a8ce3b3c04a95ef32c14ebd7daaa1"
# The same for arq.worker.Worker.start_jobs, which LeerkringWorker.start_jobs does in one script.
ARQ_START_JOBS_SHA256 = "b45797cfa40bed7fe6e9b8b8100c5f5b4144fe85112155c4e355df6ed8521f5f"

_ENQUEUE = """
if redis.call('EXISTS', KEYS[3]) == 0 and redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
    redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
    return 1
end
return 0
"""


# arq's start_jobs for many jobs at once: for each id (ARGV[5..]) while fewer than ARGV[3] are taken, the job is
# taken when no worker has it in progress (key ARGV[4] .. id) and it is still on the queue KEYS[1] with its time
# come (a finished one has left it; one re-queued with a delay waits), and its in-progress marker set for ARGV[2]
# ms. Atomic, as arq's WATCH/MULTI is. Returns id, score, id, score, ...
_START = """
local taken = {}
local limit = tonumber(ARGV[3])
for i = 5, #ARGV do
    if #taken >= 2 * limit then break end
    local id = ARGV[i]
    local marker = ARGV[4] .. id
    if redis.call('EXISTS', marker) == 0 then
        local score = redis.call('ZSCORE', KEYS[1], id)
        if score and tonumber(score) <= tonumber(ARGV[1]) then
            redis.call('PSETEX', marker, ARGV[2], '1')
            taken[#taken + 1] = id
            taken[#taken + 1] = score
        end
    end
end
return taken
"""


class ArqJob(NamedTuple):
    job_id: str
    function: str
    args: tuple[Any, ...]


async def write_jobs(
    redis: ArqRedis, jobs: Sequence[ArqJob], *, queue_name: str = default_queue_name, defer_ms: int = 0
) -> int:
    """Enqueue each job as arq's `enqueue_job(function, *args, _job_id=job_id, _defer_by=defer_ms)` would, all in
    one round trip; returns how many were new to Redis."""
    if not jobs:
        return 0
    now_ms = int(time.time() * 1000)
    score = now_ms + defer_ms
    async with redis.pipeline(transaction=False) as pipe:
        for job in jobs:
            payload = serialize_job(job.function, job.args, {}, None, now_ms)
            # EVAL, not a registered script: redis-py would ask SCRIPT EXISTS first, a second round trip per batch
            # (Redis caches the compiled script by its hash anyway).
            pipe.eval(
                _ENQUEUE,
                3,
                job_key_prefix + job.job_id,
                queue_name,
                result_key_prefix + job.job_id,
                payload,  # type: ignore[arg-type]  # redis-py accepts bytes and ints here; its stubs say str
                str(defer_ms + expires_extra_ms),
                str(score),
                job.job_id,
            )
        results = await pipe.execute()
    return sum(1 for r in results if r == 1)


class JobState(NamedTuple):
    exists: bool  # queued, deferred for a retry, or running
    in_progress: bool  # some worker took it off the queue


async def job_states(redis: ArqRedis, job_ids: Sequence[str]) -> list[JobState]:
    """What Redis knows of each job id, in one round trip."""
    if not job_ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for identifier in job_ids:
            pipe.exists(job_key_prefix + identifier)
            pipe.exists(in_progress_key_prefix + identifier)
        results = await pipe.execute()
    return [JobState(bool(results[i]), bool(results[i + 1])) for i in range(0, len(results), 2)]


async def ready_jobs(redis: ArqRedis, *, queue_name: str = default_queue_name) -> int:
    """Jobs on the queue whose time has come: waiting for a free slot (or just taken, until arq removes them)."""
    return int(await redis.zcount(queue_name, "-inf", int(time.time() * 1000)))


def arq_close_source_hash() -> str:
    return hashlib.sha256(inspect.getsource(Worker.close).encode()).hexdigest()


def arq_start_jobs_source_hash() -> str:
    return hashlib.sha256(inspect.getsource(Worker.start_jobs).encode()).hexdigest()


class LeerkringWorker(Worker):
    """arq's Worker with a shutdown that always ends, and on time.

    arq 0.28's `close()` gathers the cancelled jobs without `return_exceptions` (a job cancelled while arq records
    its result re-raises CancelledError out of close(), so on_shutdown never runs) and awaits every step without a
    bound. The same steps here, each with its share of `stop_budget` (workers/stopping.py), the whole under one
    deadline past which whatever still runs is abandoned with its stack logged (`clean` becomes False); and
    `aclose()` instead of redis-py 5's deprecated `close()`.
    """

    def __init__(
        self, *args: Any, stop_budget: StopBudget, on_abandon: Callable[[dict[str, Any]], None], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.stop_budget = stop_budget
        self._on_abandon = on_abandon
        self._abandoned = False

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's start_jobs (the ids come from its poll, oldest first), with the checks and markers of all of them in
        one script; each job then runs through arq's own run_job, in a slot of its semaphore, as there."""
        if not job_ids:
            return
        await self.sem.acquire()  # as arq: wait until a slot is free (a job ends) before taking more
        self.sem.release()
        free = self.max_jobs - self.job_counter
        if free <= 0:
            return
        taken = await self.pool.eval(  # type: ignore[misc]  # redis-py types the result loosely
            _START,
            1,
            self.queue_name,
            str(timestamp_ms()),
            str(int(self.in_progress_timeout_s * 1000)),
            str(free),
            in_progress_key_prefix,
            *(i.decode() for i in job_ids),
        )
        for i in range(0, len(taken), 2):
            await self.sem.acquire()  # free, so it does not wait (nothing else takes slots)
            self.job_counter += 1
            job_id = taken[i].decode()
            task = self.loop.create_task(self.run_job(job_id, int(float(taken[i + 1]))))
            task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
            self.tasks[job_id] = task

    @property
    def clean(self) -> bool:
        """False when a shutdown had to abandon a task that would not stop (see the log for its stack)."""
        return not self._abandoned and not self.ctx.get("abandoned")

    async def close(self) -> None:
        steps = asyncio.ensure_future(self._close())
        if await stop_tasks({steps}, within=self.stop_budget.total, what="worker shutdown"):
            self._abandoned = True
            log.error("worker shutdown overran %.0fs; every task still running:\n%s", self.stop_budget.total,
                      describe(all_other_tasks()))  # fmt: skip
            self._on_abandon(self.ctx)
            self._pool = None

    async def _close(self) -> None:
        # arq 0.28 Worker.close, step by step:
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)  # cancels the jobs and the main task
        if not self._pool:
            return
        if await stop_tasks(list(self.tasks.values()), within=self.stop_budget.jobs, what="cancelled job(s)"):
            self._abandoned = True
        await bounded(self.pool.delete(self.health_check_key), 2.0, "removing the health check key")
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)  # workers/lifecycle.py: shutdown, bounded by the same budget
        await bounded(self.pool.aclose(close_connection_pool=True), 2.0, "closing the Redis pool")
        self._pool = None
