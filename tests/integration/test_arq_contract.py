"""workers/arq_internals.py writes arq's keys by hand and copies arq's Worker.close: check both against arq itself,
so that an arq upgrade which moves a key, changes the payload or rewrites close() fails here, loudly."""

from __future__ import annotations

import asyncio
from typing import Any

import arq
import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.jobs import deserialize_job
from arq.worker import Worker, func

from workers import arq_internals
from workers.arq_internals import ArqJob, LeerkringWorker, job_states, write_jobs
from workers.stopping import budget
from workers.testing import FAST


@pytest.fixture
async def redis(redis_url: str) -> Any:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        yield pool
    finally:
        await pool.aclose()


async def keys_of(redis: ArqRedis, job_id: str) -> dict[str, Any]:
    """Every key that mentions the job, with its type and TTL, the id replaced by `ID`."""
    found = {}
    for raw in await redis.keys(f"*{job_id}*"):
        key = raw.decode()
        found[key.replace(job_id, "ID")] = (await redis.type(key), await redis.pttl(key))
    return found


def test_pinned_to_the_arq_we_checked() -> None:
    assert arq.VERSION == arq_internals.ARQ_VERSION, "a new arq: re-check workers/arq_internals.py against it"


def test_worker_close_is_still_the_code_we_copied() -> None:
    assert arq_internals.arq_close_source_hash() == arq_internals.ARQ_CLOSE_SHA256, (
        "arq's Worker.close changed: compare it with LeerkringWorker._close, then update ARQ_CLOSE_SHA256"
    )


def test_worker_start_jobs_is_still_the_code_we_replaced() -> None:
    assert arq_internals.arq_start_jobs_source_hash() == arq_internals.ARQ_START_JOBS_SHA256, (
        "arq's Worker.start_jobs changed: compare it with LeerkringWorker.start_jobs, then update ARQ_START_JOBS_SHA256"
    )


async def test_our_start_jobs_takes_what_arq_would_and_leaves_the_rest(redis: ArqRedis, redis_url: str) -> None:
    """Queued and due: taken, marked in progress and run by arq's run_job. In progress elsewhere, deferred, or gone
    from the queue: left alone, as arq's start_jobs leaves them."""
    ran: list[str] = []

    async def some_job(ctx: dict[str, Any], name: str) -> None:
        ran.append(name)

    for name in ("due", "elsewhere", "later"):
        await redis.enqueue_job("some_job", name, _job_id=name, _defer_by=60 if name == "later" else None)
    await redis.set("arq:in-progress:elsewhere", b"1")
    worker = LeerkringWorker(
        functions=[func(some_job, name="some_job")],
        redis_pool=redis,
        keep_result=0,
        handle_signals=False,
        stop_budget=budget(FAST),
        on_abandon=lambda _: None,
    )
    worker.ctx["redis"] = redis  # what arq's main loop sets before it polls
    await worker.start_jobs([b"due", b"elsewhere", b"later", b"absent"])
    assert set(worker.tasks) == {"due"}
    assert await redis.pttl("arq:in-progress:due") > 0
    await asyncio.gather(*worker.tasks.values())
    assert ran == ["due"]
    assert await redis.zrange(redis.default_queue_name, 0, -1) == [b"elsewhere", b"later"], "due is done"
    assert worker.job_counter == 0, "its slot given back"


async def test_our_enqueue_writes_what_arq_enqueue_job_writes(redis: ArqRedis) -> None:
    await redis.enqueue_job("some_job", 42, _job_id="by-arq", _defer_by=5)
    assert await write_jobs(redis, [ArqJob("by-us", "some_job", (42,))], defer_ms=5000) == 1
    ours, theirs = await keys_of(redis, "by-us"), await keys_of(redis, "by-arq")
    assert set(ours) == set(theirs) == {"arq:job:ID"}
    assert ours["arq:job:ID"][0] == theirs["arq:job:ID"][0] == b"string"
    assert abs(ours["arq:job:ID"][1] - theirs["arq:job:ID"][1]) < 2000, "the same expiry"
    payloads = [deserialize_job(await redis.get(f"arq:job:{i}")) for i in ("by-us", "by-arq")]
    assert [(p.function, p.args, p.kwargs, p.job_try) for p in payloads] == [("some_job", (42,), {}, None)] * 2
    scores = dict(await redis.zrange(redis.default_queue_name, 0, -1, withscores=True))
    assert set(scores) == {b"by-us", b"by-arq"}, "both in arq's queue"
    assert abs(scores[b"by-us"] - scores[b"by-arq"]) < 2000, "deferred alike"


async def test_a_job_id_arq_knows_is_not_enqueued_twice(redis: ArqRedis) -> None:
    assert await write_jobs(redis, [ArqJob("twice", "some_job", (1,))]) == 1
    assert await write_jobs(redis, [ArqJob("twice", "some_job", (1,))]) == 0
    assert await redis.enqueue_job("some_job", 1, _job_id="twice") is None, "arq agrees it is there"
    await redis.set("arq:result:kept", b"x")  # a finished job whose result arq keeps
    assert await redis.enqueue_job("some_job", 1, _job_id="kept") is None
    assert await write_jobs(redis, [ArqJob("kept", "some_job", (1,))]) == 0


@pytest.mark.filterwarnings("ignore:Call to deprecated close")
async def test_arq_runs_what_we_enqueue_and_we_see_what_it_is_doing(redis: ArqRedis, redis_url: str) -> None:
    running, release = asyncio.Event(), asyncio.Event()
    seen: list[int] = []

    async def some_job(ctx: dict[str, Any], n: int) -> None:
        seen.append(n)
        running.set()
        await release.wait()

    assert await write_jobs(redis, [ArqJob("mine", "some_job", (7,))]) == 1
    assert await job_states(redis, ["mine", "absent"]) == [(True, False), (False, False)]
    worker = Worker(
        functions=[func(some_job, name="some_job")],
        redis_settings=RedisSettings.from_dsn(redis_url),
        burst=True,
        poll_delay=0.01,
        keep_result=0,
        handle_signals=False,
    )
    run = asyncio.create_task(worker.async_run())
    try:
        async with asyncio.timeout(10):
            await running.wait()
        assert await job_states(redis, ["mine"]) == [(True, True)], "arq's in-progress marker"
        release.set()
        async with asyncio.timeout(10):
            await run
    finally:
        release.set()
        await worker.close()
    assert seen == [7]
    assert await job_states(redis, ["mine"]) == [(False, False)]
