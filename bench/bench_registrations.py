"""The registration rush: the full HTTP stack against a bare asyncpg loop, same database, same run.

    .venv/bin/python bench/bench_registrations.py [--people 3000] [--rounds 5] [--connections 64]

HTTP: uvicorn (one worker, uvloop, httptools) serving services.asgi, pool of 10 connections; anonymous
registrations (participant found-or-created by e-mail, seat decided, event written to the outbox) for one
100-seat meeting, sent over 64 keep-alive connections by a minimal HTTP/1.1 client (httpx costs more CPU than
the server on these two cores and would measure itself).
Bare: 64 asyncio tasks on an asyncpg pool of 10 doing the textbook "BEGIN; SELECT … FOR UPDATE on the meeting;
count; INSERT; COMMIT" for another 100-seat meeting, with participants made beforehand.
Prints throughput and p50/p99 latency of each round, and the median over rounds of the ratio HTTP / bare.

PostgreSQL: LEERKRING_BENCH_DATABASE_URL (an admin DSN; a scratch database is created and dropped) or
127.0.0.1:5432 as user postgres. Redis: LEERKRING_REDIS_URL or redis://127.0.0.1:6379/15 (the API needs a URL;
registration does not touch Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.auth.keys import create_key  # noqa: E402
from services.db import connect  # noqa: E402
from services.migrate import migrate  # noqa: E402
from services.organisations.importer import import_reference_data  # noqa: E402
from tests.factories import meeting_body, participant_body  # noqa: E402

POOL = 10


class HttpConnection:
    """Just enough HTTP/1.1 keep-alive for JSON requests with a Content-Length answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(self, method: str, path: str, body: bytes = b"", headers: str = "") -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        self.writer.write(f"{head}{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length) if length else b""

    def close(self) -> None:
        self.writer.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Result(msgspec.Struct):
    name: str
    rate: float
    p50_ms: float
    p99_ms: float


async def drive(name: str, count: int, workers: int, one: Callable[[int, int], Awaitable[None]]) -> Result:
    """Run `one(worker, i)` for i in 0..count-1 over `workers` concurrent workers; time each call."""
    latencies: list[float] = []
    numbers = iter(range(count))

    async def worker(w: int) -> None:
        for i in numbers:
            start = time.perf_counter()
            await one(w, i)
            latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    elapsed = time.perf_counter() - started
    return Result(name, count / elapsed, percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000)


async def http_round(port: int, key: str, people: int, connections: int, tag: str) -> Result:
    auth = f"Authorization: Bearer {key}\r\n"
    conns = [await HttpConnection.open(port) for _ in range(connections)]
    try:
        _, body = await conns[0].request(
            "POST", "/api/v1/meetings", msgspec.json.encode(meeting_body(capacity=100)), auth
        )
        meeting_id = msgspec.json.decode(body)["id"]
        await conns[0].request("POST", f"/api/v1/meetings/{meeting_id}/publish", b"", auth)
        path = f"/api/v1/meetings/{meeting_id}/registrations"
        bodies = [
            msgspec.json.encode({"participant": participant_body(n, email=f"{tag}{n}@bench.example.nl")})
            for n in range(people)
        ]

        async def one(w: int, i: int) -> None:
            status, answer = await conns[w].request("POST", path, bodies[i])
            if status != 201:
                raise RuntimeError(f"registration answered {status}: {answer[:300]!r}")

        return await drive("HTTP (uvicorn + Litestar)", people, connections, one)
    finally:
        for c in conns:
            c.close()


BARE_LOCK = "SELECT capacity FROM meetings WHERE id = $1 FOR UPDATE"
BARE_COUNT = (
    "SELECT count(*) FILTER (WHERE status = 'confirmed') AS confirmed, "
    "count(*) FILTER (WHERE status = 'waitlisted') AS waiting FROM registrations WHERE meeting_id = $1"
)
BARE_INSERT = "INSERT INTO registrations (id, meeting_id, participant_id, status, position) VALUES ($1, $2, $3, $4, $5)"


async def bare_round(pool: asyncpg.Pool, meeting_id: uuid.UUID, participants: list[uuid.UUID], workers: int) -> Result:
    async def one(w: int, i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            capacity = await conn.fetchval(BARE_LOCK, meeting_id)
            counts = await conn.fetchrow(BARE_COUNT, meeting_id)
            seat = counts["confirmed"] < capacity
            await conn.execute(
                BARE_INSERT,
                uuid.uuid4(),
                meeting_id,
                participants[i],
                "confirmed" if seat else "waitlisted",
                None if seat else counts["waiting"] + 1,
            )

    return await drive("bare asyncpg loop", len(participants), workers, one)


async def bare_setup(conn: asyncpg.Connection, people: int, tag: str) -> tuple[uuid.UUID, list[uuid.UUID]]:
    body = meeting_body(capacity=100)
    meeting_id = await conn.fetchval(
        "INSERT INTO meetings (title, format, starts_at, ends_at, capacity, organiser_codes, status) "
        "VALUES ($1, $2, $3::text::timestamptz, $4::text::timestamptz, 100, '{VNG}', 'published') RETURNING id",
        "bare",
        body["format"],
        body["starts_at"],
        body["ends_at"],
    )
    ids = [uuid.uuid4() for _ in range(people)]
    await conn.copy_records_to_table(
        "participants",
        records=[(pid, f"{tag}{n}@bare.example.nl", f"Bare {n}") for n, pid in enumerate(ids)],
        columns=["id", "email", "name"],
    )
    return meeting_id, ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the API process died on start")
        try:
            conn = await HttpConnection.open(port)
            status, _ = await conn.request("GET", "/healthz")
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the API did not start within 20 s")


def with_database(dsn: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def main(args: argparse.Namespace) -> None:
    admin_dsn = os.environ.get("LEERKRING_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("LEERKRING_REDIS_URL", "redis://127.0.0.1:6379/15")
    name = f"lk_bench_{os.getpid()}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = with_database(admin_dsn, name)
    process: subprocess.Popen[bytes] | None = None
    try:
        setup = await connect(dsn)
        await migrate(setup)
        await import_reference_data(setup)
        key, _ = await create_key(setup, role="organiser", organisation_code="VNG", name="bench")
        port = free_port()
        env = {**os.environ, "LEERKRING_DATABASE_URL": dsn, "LEERKRING_REDIS_URL": redis_url,
               "LEERKRING_SECRET_KEY": "bench", "LEERKRING_DB_POOL_MAX": str(POOL)}  # fmt: skip
        process = subprocess.Popen(  # noqa: ASYNC220 - starting the server does not block
            [sys.executable, "-m", "uvicorn", "services.asgi:create", "--factory", "--port", str(port),
             "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        await wait_for(port, process)
        pool = await asyncpg.create_pool(dsn, min_size=POOL, max_size=POOL)
        # Warm up both sides (prepared statements on every pooled connection, first-call costs); not counted.
        meeting_id, ids = await bare_setup(setup, 500, "warm-")
        await bare_round(pool, meeting_id, ids, args.connections)
        await http_round(port, key, 500, args.connections, "warm-")
        results: dict[str, list[Result]] = {"http": [], "bare": []}
        ratios: list[float] = []
        for r in range(args.rounds):
            meeting_id, ids = await bare_setup(setup, args.people, f"r{r}-")
            # Alternate which goes first, and compare within a round: other work on a shared machine changes
            # the absolute figures from minute to minute, much less the ratio of two runs a few seconds apart.
            for kind in ("bare", "http") if r % 2 == 0 else ("http", "bare"):
                if kind == "bare":
                    result = await bare_round(pool, meeting_id, ids, args.connections)
                else:
                    result = await http_round(port, key, args.people, args.connections, f"r{r}-")
                results[kind].append(result)
                latency = f"p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms"
                print(f"round {r + 1}  {result.name:26} {result.rate:7.0f}/s  {latency}")
            ratios.append(results["http"][-1].rate / results["bare"][-1].rate)
            print(f"round {r + 1}  ratio HTTP / bare {ratios[-1]:.2f}")
        await pool.close()
        await setup.close()
        print(f"\nmedian of {args.rounds} rounds, {args.people} registrations each, {args.connections} concurrent:")
        for kind, label in (("http", "HTTP"), ("bare", "bare")):
            rows = results[kind]
            p50 = statistics.median(x.p50_ms for x in rows)
            p99 = statistics.median(x.p99_ms for x in rows)
            print(f"  {label:5} {statistics.median(x.rate for x in rows):7.0f}/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
        spread = f"rounds {min(ratios):.2f}..{max(ratios):.2f}"
        print(f"  ratio HTTP / bare = {statistics.median(ratios):.2f} (median of rounds; {spread}; aim: at least 0.70)")
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    import uvloop

    uvloop.install()
    asyncio.run(main(parser.parse_args()))
