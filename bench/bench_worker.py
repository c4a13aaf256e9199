"""Throughput of the event backbone (outbox -> relay -> arq worker -> ledger) against bare arq, same machine, same run.

    .venv/bin/python bench/bench_worker.py [--quick]

Each scenario starts a fresh worker *process* and measures from the first enqueue (bare arq) or the first
committed event (Leerkring) until the last job is done; the load generator runs in this process.

* bare arq: `enqueue_job` from 64 tasks; a no-op job, or one mail per job (new SMTP connection per mail,
  or the pooled workers.mailer.Mailer).
* Leerkring: events committed one per transaction from 16 connections (as API requests write them); the relay
  turns them into jobs; each job runs through the ledger (START/DONE rows). The mail job uses
  workers.deliveries.send_once (claim, send, mark_sent on one connection) over the same pooled Mailer.
  Webhook fan-out (EVERY_EVENT) is switched off so both sides run one job per unit of work.

PostgreSQL on 127.0.0.1:5432 (a throw-away database); Redis is a private server on 127.0.0.1 (FLUSHALL between
runs must not reach anyone else's); the SMTP sink (localdev/mailsink.py) runs in its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from bench.results import record  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
COUNTER = "bench:done"


# ------------------------------------------------------------------------------------------ worker processes


def serve_sink(folder: str, url_file: str) -> None:
    from localdev.mailsink import MailSink

    sink = MailSink(Path(folder))
    Path(url_file).write_text(sink.start())
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    sink.stop()


def serve_arq(redis_url: str, smtp_url: str, poll_delay: float, max_jobs: int) -> None:
    import aiosmtplib
    from arq.connections import RedisSettings
    from arq.worker import Worker, func

    from services.mail.message import build_message
    from workers.mailer import Mailer, SmtpConfig

    config = SmtpConfig.from_url(smtp_url)

    async def noop(ctx: dict[str, Any], n: int) -> None:
        await ctx["redis"].incr(COUNTER)

    async def mail_naive(ctx: dict[str, Any], n: int) -> None:
        msg = build_message(sender="bench@leerkring.nl", to="p@gemeente.nl", subject=f"Bench {n}", text="x")
        await aiosmtplib.send(msg, hostname=config.host, port=config.port, start_tls=False)
        await ctx["redis"].incr(COUNTER)

    async def mail_pooled(ctx: dict[str, Any], n: int) -> None:
        msg = build_message(sender="bench@leerkring.nl", to="p@gemeente.nl", subject=f"Bench {n}", text="x")
        await ctx["mailer"].send(msg)
        await ctx["redis"].incr(COUNTER)

    async def main() -> None:
        worker = Worker(
            functions=[func(f, name=f.__name__) for f in (noop, mail_naive, mail_pooled)],
            redis_settings=RedisSettings.from_dsn(redis_url),
            ctx={"mailer": Mailer(smtp_url, pool_size=16)},
            poll_delay=poll_delay,
            max_jobs=max_jobs,
            keep_result=0,
            handle_signals=True,
            health_check_interval=1,
        )
        try:
            await worker.async_run()
        except asyncio.CancelledError:
            pass
        finally:
            await worker.close()

    asyncio.run(main())


def serve_leerkring(database_url: str, redis_url: str, smtp_url: str) -> None:
    from email.message import EmailMessage

    from services.mail.message import build_message
    from services.settings import Settings
    from workers import routes
    from workers.context import load_event
    from workers.deliveries import Mail, send_once
    from workers.registry import job
    from workers.runner import serve
    from workers.settings import load_tuning
    from workers.testing import route_only

    @job(name="bench_noop")
    async def bench_noop(ctx: dict[str, Any], outbox_id: int) -> None:
        return None

    @job(name="bench_mail")
    async def bench_mail(ctx: dict[str, Any], outbox_id: int) -> None:
        event = await load_event(ctx, outbox_id)

        def build(message_id: str) -> EmailMessage:
            return build_message(
                sender="bench@leerkring.nl",
                to="p@gemeente.nl",
                subject=f"Bench {outbox_id}",
                text="x",
                message_id=message_id,
            )

        await send_once(ctx, Mail(key=f"bench:{event.id}", kind="bench", recipient="p@gemeente.nl", build=build))

    route_only({"meeting.published": (os.environ["BENCH_JOB"],)})
    routes.EVERY_EVENT = ()
    statements = count_statements()
    settings = Settings(
        database_url=database_url, redis_url=redis_url, smtp_url=smtp_url, var_dir=Path(tempfile.mkdtemp())
    )
    asyncio.run(serve(settings, load_tuning()))
    Path(os.environ["BENCH_COUNTS"]).write_text(str(statements[0]))


def count_statements() -> list[int]:
    """Count the statements this process sends to PostgreSQL: every one goes out through one of these two."""
    from asyncpg.connection import Connection

    count = [0]
    do_execute, execute = getattr(Connection, "_do_execute"), Connection.execute  # noqa: B009

    async def counted_do_execute(self: Connection, *args: Any, **kwargs: Any) -> Any:  # prepared, with arguments
        count[0] += 1
        return await do_execute(self, *args, **kwargs)

    async def counted_execute(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        count[0] += 0 if args else 1  # with arguments it goes through _do_execute
        return await execute(self, query, *args, **kwargs)

    setattr(Connection, "_do_execute", counted_do_execute)  # noqa: B010
    setattr(Connection, "execute", counted_execute)  # noqa: B010
    return count


# ------------------------------------------------------------------------------------------ load generator


LOG = Path(tempfile.gettempdir()) / "bench_worker.log"


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with LOG.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, __file__, *args], env={**os.environ, **(env or {})}, stdout=log, stderr=log
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


async def until(condition: Any, within: float = 60.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark step did not finish in time; see {LOG}")
        await asyncio.sleep(interval)


async def bare_arq(redis_url: str, smtp_url: str, function: str, jobs: int, poll: float, max_jobs: int) -> float:
    from arq.connections import RedisSettings, create_pool

    redis = Redis.from_url(redis_url)
    await redis.flushall()
    worker = spawn("--serve", "arq", redis_url, smtp_url, str(poll), str(max_jobs))
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        await until(lambda: redis.exists("arq:queue:health-check"), within=30)
        redis_before = await redis_commands(redis)
        cpu = ConsumerCpu(worker.pid, redis)
        await cpu.begin()
        started = time.perf_counter()
        todo = iter(range(jobs))

        async def enqueuer() -> None:
            for n in todo:
                await pool.enqueue_job(function, n)

        await asyncio.gather(*(enqueuer() for _ in range(64)))

        async def done() -> bool:
            return int(await redis.get(COUNTER) or 0) >= jobs

        await until(done, interval=0.005)
        elapsed = time.perf_counter() - started
        await cpu.end(f"bare {function}@{poll}", jobs)
        REDIS_PER_JOB.append((f"{function}@{poll}", (await redis_commands(redis) - redis_before) / jobs))
        return elapsed
    finally:
        stop(worker)
        await pool.aclose()
        await redis.aclose()


async def leerkring(db: str, redis_url: str, smtp_url: str, job_name: str, events: int) -> float:
    from uuid import uuid4

    from schemas.events import MeetingPublished
    from services.db import create_pool
    from services.outbox import emit

    redis = Redis.from_url(redis_url)
    await redis.flushall()
    await redis.aclose()
    pool = await create_pool(db, min_size=16, max_size=16)
    await pool.execute("TRUNCATE outbox, deliveries, worker_processes CASCADE")
    counts = Path(tempfile.mkdtemp()) / "statements"
    # The production defaults of workers/settings.py: poll 0.01 s, max_jobs 32.
    env = {"BENCH_JOB": job_name, "BENCH_COUNTS": str(counts)}
    worker = spawn("--serve", "leerkring", db, redis_url, smtp_url, env=env)
    commands = Redis.from_url(redis_url)
    try:
        await until(lambda: pool.fetchval("SELECT count(*) > 0 FROM worker_processes"), within=30)
        redis_before = await redis_commands(commands)
        own = {r["pid"] for r in await asyncio.gather(*(own_backend(pool) for _ in range(16)))}
        cpu = ConsumerCpu(worker.pid, commands, pool, db.rsplit("/", 1)[1], own)
        await cpu.begin()
        started = time.perf_counter()
        todo = iter(range(events))

        async def writer() -> None:
            async with pool.acquire() as conn:
                for _ in todo:
                    async with conn.transaction():
                        meeting = uuid4()
                        await emit(conn, meeting, MeetingPublished(meeting_id=meeting, sequence=0, revision=1))

        await asyncio.gather(*(writer() for _ in range(16)))

        async def done() -> bool:
            return await pool.fetchval("SELECT count(*) FROM event_jobs WHERE status = 'done'") >= events  # type: ignore[no-any-return]

        await until(done, interval=0.01)
        elapsed = time.perf_counter() - started
        await cpu.end(job_name, events)
        redis_per_event = (await redis_commands(commands) - redis_before) / events
        if job_name == "bench_mail":
            assert await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'sent'") == events
        # Events per arq job: the relay's job batches (workers/relay.py), 1.0 when every event went alone.
        arq_jobs = await pool.fetchval(
            "SELECT count(DISTINCT (coalesce(batch_lead, outbox_id), generation)) FROM event_jobs WHERE job = $1",
            job_name,
        )
        BATCHING.append((job_name, events / max(1, int(arq_jobs or 0))))
    finally:
        stop(worker)
        await pool.close()
        await commands.aclose()
    # Per event, in the worker process (relay, ledger, job, and its background loops while it ran).
    ROUND_TRIPS.append((job_name, int(counts.read_text()) / events, redis_per_event))
    return elapsed


ROUND_TRIPS: list[tuple[str, float, float]] = []
BATCHING: list[tuple[str, float]] = []  # (job, events per arq job)
# CPU seconds per job of the consuming side, by scenario: worker process, its PostgreSQL backends, Redis server.
# On a machine shared with other work, throughput moves with the load; CPU per job moves much less.
CPU_PER_JOB: list[tuple[str, float, float, float]] = []
TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a local process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


async def redis_cpu(redis: Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def backend_cpu(pool: Any, database: str, exclude: set[int]) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend on `database` but those in `exclude` (the bench's own)."""
    pids = await pool.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    return {r["pid"]: process_cpu(r["pid"]) for r in pids if r["pid"] not in exclude}


class ConsumerCpu:
    """CPU the consuming side spent between `begin` and `end`: worker process, its backends, Redis."""

    def __init__(self, worker_pid: int, redis: Redis, pool: Any = None, database: str = "", own: set[int] = set()):  # noqa: B006
        self.worker_pid, self.redis, self.pool, self.database, self.own = worker_pid, redis, pool, database, own

    async def _read(self) -> tuple[float, dict[int, float], float]:
        backends = await backend_cpu(self.pool, self.database, self.own) if self.pool else {}
        return process_cpu(self.worker_pid), backends, await redis_cpu(self.redis)

    async def begin(self) -> None:
        self.start = await self._read()

    async def end(self, label: str, jobs: int) -> None:
        worker, backends, redis = await self._read()
        spent_backends = sum(cpu - self.start[1].get(pid, 0.0) for pid, cpu in backends.items())
        CPU_PER_JOB.append(
            (label, (worker - self.start[0]) / jobs, spent_backends / jobs, (redis - self.start[2]) / jobs)
        )


REDIS_PER_JOB: list[tuple[str, float]] = []  # bare arq: (function, Redis commands per job)


async def own_backend(pool: Any) -> Any:
    """The backend pid of one of the bench's own connections (held briefly, so 16 calls see all 16)."""
    async with pool.acquire() as conn:
        await asyncio.sleep(0.05)
        return await conn.fetchrow("SELECT pg_backend_pid() AS pid")


async def redis_commands(redis: Redis) -> int:
    """Commands Redis has processed so far (the bench's own INFO and done-polling calls included: from the first
    job to the last, idle polls of the worker count too, so a slower run counts a little more per job)."""
    return int((await redis.info("stats"))["total_commands_processed"])


async def main(quick: bool) -> None:
    from localdev.embedded import EmbeddedRedis
    from services.migrate import migrate

    noop_jobs, mail_jobs, repeats = (1000, 300, 1) if quick else (4000, 1000, 3)
    name = f"lk_bench_worker_{os.getpid()}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    db = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    tmp = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    redis_server = EmbeddedRedis(tmp / "redis")
    sink = spawn("--sink", str(tmp / "mail"), str(tmp / "sink-url"))
    results: list[tuple[str, int, float]] = []
    try:
        conn = await asyncpg.connect(db)
        await migrate(conn)
        await conn.close()
        redis_url = redis_server.start()
        url_file = tmp / "sink-url"

        async def sink_ready() -> bool:
            return url_file.exists()

        await until(sink_ready, within=30)
        smtp_url = url_file.read_text()

        async def measure(label: str, jobs: int, run: Any) -> None:
            times = [await run() for _ in range(repeats)]
            results.append((label, jobs, statistics.median(times)))
            print(f"  {label:<52} {jobs:>6} jobs  {jobs / statistics.median(times):>8.0f}/s", flush=True)

        print(f"median of {repeats} run(s) each; {os.cpu_count()} CPUs\n")
        await measure(
            "bare arq, defaults (poll 0.5 s, max_jobs 10)",
            1000,
            lambda: bare_arq(redis_url, smtp_url, "noop", 1000, 0.5, 10),
        )
        await measure(
            "bare arq, no-op (poll 0.01 s, max_jobs 32)",
            noop_jobs,
            lambda: bare_arq(redis_url, smtp_url, "noop", noop_jobs, 0.01, 32),
        )
        await measure(
            "leerkring outbox+relay+ledger, no-op",
            noop_jobs,
            lambda: leerkring(db, redis_url, smtp_url, "bench_noop", noop_jobs),
        )
        await measure(
            "bare arq, 1 mail/job, new SMTP connection each",
            mail_jobs,
            lambda: bare_arq(redis_url, smtp_url, "mail_naive", mail_jobs, 0.01, 32),
        )
        await measure(
            "bare arq, 1 mail/job, pooled Mailer",
            mail_jobs,
            lambda: bare_arq(redis_url, smtp_url, "mail_pooled", mail_jobs, 0.01, 32),
        )
        await measure(
            "leerkring, 1 mail/event, exactly-once delivery",
            mail_jobs,
            lambda: leerkring(db, redis_url, smtp_url, "bench_mail", mail_jobs),
        )
    finally:
        stop(sink)
        redis_server.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    rate = {label: jobs / seconds for label, jobs, seconds in results}
    labels = [label for label, _, _ in results]
    print("\nratios")
    print(f"  no-op: leerkring / bare arq tuned        {rate[labels[2]] / rate[labels[1]]:.2f}")
    print(f"  no-op: leerkring / bare arq defaults     {rate[labels[2]] / rate[labels[0]]:.2f}")
    print(f"  mail:  leerkring / bare arq pooled       {rate[labels[5]] / rate[labels[4]]:.2f}")
    print(f"  mail:  leerkring / bare arq naive SMTP   {rate[labels[5]] / rate[labels[3]]:.2f}")
    record("no-op events, outbox+relay+ledger vs tuned arq", rate[labels[2]], rate[labels[1]], unit="jobs/s", aim=None)
    record("mail events, exactly-once vs arq + pooled Mailer", rate[labels[5]], rate[labels[4]], unit="jobs/s", aim=0.7)
    print("\nround trips per event (median over runs): PostgreSQL statements by the worker, Redis commands by all")
    for job_name in ("bench_noop", "bench_mail"):
        pg = statistics.median(p for n, p, _ in ROUND_TRIPS if n == job_name)
        redis = statistics.median(r for n, _, r in ROUND_TRIPS if n == job_name)
        per_job = statistics.median(b for n, b in BATCHING if n == job_name)
        print(f"  {job_name:<12} {pg:5.2f} PostgreSQL  {redis:5.2f} Redis  ({per_job:.1f} events per arq job)")
    print(
        "\nCPU per job of the consuming side (ms, median over runs): worker process + its PostgreSQL backends + Redis"
    )
    totals = {}
    for label in ("bare noop@0.01", "bench_noop", "bare mail_pooled@0.01", "bench_mail"):
        rows = [r for r in CPU_PER_JOB if r[0] == label]
        worker, backends, redis_ = (statistics.median(r[i] for r in rows) * 1000 for i in (1, 2, 3))
        totals[label] = worker + backends + redis_
        print(f"  {label:<22} {worker:5.2f} + {backends:5.2f} + {redis_:5.2f} = {totals[label]:5.2f}")
    noop, mail = totals["bare noop@0.01"] / totals["bench_noop"], totals["bare mail_pooled@0.01"] / totals["bench_mail"]
    print(f"  no-op: bare arq tuned / leerkring CPU per job   {noop:.2f}")
    print(f"  mail:  bare arq pooled / leerkring CPU per job  {mail:.2f}")
    for function in ("noop@0.01", "mail_pooled@0.01"):
        redis = statistics.median(r for n, r in REDIS_PER_JOB if n == function)
        print(f"  bare {function.split('@')[0]:<7}  0.00 PostgreSQL  {redis:5.2f} Redis")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--sink":
        serve_sink(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 2 and sys.argv[1] == "--serve" and sys.argv[2] == "arq":
        serve_arq(sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6]))
    elif len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve_leerkring(sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--quick", action="store_true", help="fewer jobs, one run each (a smoke test)")
        asyncio.run(main(parser.parse_args().quick))
