"""The registration rush: the full HTTP stack against a bare asyncpg loop, same database, same run.

    .venv/bin/python bench/bench_registrations.py [--people 3000] [--rounds 5] [--connections 64]

Three ways to fill one 100-seat meeting with `--people` registrations, each round on a fresh meeting:

* confirm link: what a person without a personal link does last — `POST /bevestigen/{token}`, the button
  behind the link in the confirmation mail (address proven, details applied, seat or waiting-list place
  decided, event written, the browser signed in). The requests themselves were made beforehand (they hold
  no seat); this is the step that races for the seats.
* personal link: `POST /api/v1/meetings/{id}/registrations` with the participant's own bearer token.
* bare: 64 asyncio tasks on an asyncpg pool of 10 doing the textbook "BEGIN; SELECT … FOR UPDATE on the
  meeting; count; INSERT; COMMIT", with participants made beforehand.

The HTTP side is uvicorn (one worker, uvloop, httptools) serving services.asgi with a pool of 10, driven over
`--connections` keep-alive connections by `wrk` (Debian: `apt-get install wrk`), which costs far less CPU on
these two cores than any Python client; without wrk a minimal asyncio HTTP/1.1 client is used and said so.
Prints throughput and p50/p99 latency of each round, and the median over rounds of each ratio HTTP / bare.

PostgreSQL: LEERKRING_BENCH_DATABASE_URL (an admin DSN; a scratch database is created and dropped) or
127.0.0.1:5432 as user postgres. Redis: LEERKRING_REDIS_URL or redis://127.0.0.1:6379/15 (the API needs a URL;
registration does not touch Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from litestar.middleware.csrf import generate_csrf_token  # noqa: E402

from bench.results import record  # noqa: E402
from services.auth.keys import create_key  # noqa: E402
from services.db import connect  # noqa: E402
from services.migrate import migrate  # noqa: E402
from services.organisations.importer import import_reference_data  # noqa: E402
from services.participants.links import confirm_token  # noqa: E402
from services.participants.tokens import derive, token_hash  # noqa: E402
from services.settings import Settings  # noqa: E402
from tests.factories import meeting_body  # noqa: E402

POOL = 10
SECRET = "bench"  # noqa: S105 - signs the links of a scratch database
# The confirm button posts the page's CSRF token with its cookie (services/web/csrf.py): one valid pair for all.
CSRF_TOKEN = generate_csrf_token(SECRET)
CSRF_HEADERS = f"Cookie: leerkring_csrf={CSRF_TOKEN}\r\nX-CSRF-Token: {CSRF_TOKEN}\r\n"
KINDS = ("confirm", "personal")


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


WRK_SCRIPT = r"""
-- Each thread sends its share of the lines of LK_LINES, one request per line, and says so on stdout when all its
-- answers are in (the bench then stops wrk with SIGINT). A connection whose turn comes after the last line asks for
-- a page that does not exist; those 404s are not counted. Time is taken here, from the first request to the last
-- answer, with a monotonic clock through LuaJIT's FFI: wrk's own duration is the -d it was given.
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } lk_timespec; int clock_gettime(int, lk_timespec *); ]]
local ts = ffi.new("lk_timespec")
local function now() ffi.C.clock_gettime(1, ts); return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3 end

local counter = 0
local threads = {}
function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  local nthreads = tonumber(os.getenv("LK_THREADS"))
  mine = {}
  local n = 0
  for line in io.lines(os.getenv("LK_LINES")) do
    if n % nthreads == index then mine[#mine + 1] = line end
    n = n + 1
  end
  sent, got, bad, first, last = 0, 0, 0, 0, 0
  statuses = ""
  kind, meeting, expected = os.getenv("LK_KIND"), os.getenv("LK_MEETING"), tonumber(os.getenv("LK_STATUS"))
  csrf = os.getenv("LK_CSRF")
end
function request()
  -- wrk calls the first thread's request() once before connecting, to check what it builds: not a real send.
  if index == 0 and not verified then
    verified = true
    return wrk.format("GET", "/bench-filler")
  end
  if sent == 0 then first = now() end
  sent = sent + 1
  local item = mine[sent]
  if item == nil then return wrk.format("GET", "/bench-filler") end
  if kind == "confirm" then
    return wrk.format("POST", "/bevestigen/" .. item,
      {["Content-Type"] = "application/x-www-form-urlencoded", ["Content-Length"] = "0",
       ["Cookie"] = "leerkring_csrf=" .. csrf, ["X-CSRF-Token"] = csrf}, "")
  end
  return wrk.format("POST", "/api/v1/meetings/" .. meeting .. "/registrations",
    {["Authorization"] = "Bearer " .. item, ["Content-Type"] = "application/json"}, "{}")
end
function response(status, headers, body)
  if got >= #mine or (status == 404 and string.find(body, "bench-filler", 1, true)) then return end
  got = got + 1
  if status ~= expected then
    bad = bad + 1
    if bad <= 3 then statuses = statuses .. " " .. status .. ":" .. string.sub(body, 1, 200) end
  end
  if got == #mine then
    last = now()
    wrk.thread:stop()
    io.write("LK_THREAD_DONE\n")
    io.flush()
  end
end
function done(summary, latency, requests)
  local total, failed, start, finish, why = 0, 0, math.huge, 0, ""
  for _, t in ipairs(threads) do
    total = total + t:get("got")
    failed = failed + t:get("bad")
    start = math.min(start, t:get("first"))
    finish = math.max(finish, t:get("last"))
    why = why .. t:get("statuses")
  end
  io.write(string.format("LK_RESULT %d %d %d %d %d\n", total, failed, finish - start,
    latency:percentile(50), latency:percentile(99)))
  if failed > 0 then io.write("LK_WHY" .. why .. "\n") end
end
"""


def wrk_round(name: str, port: int, kind: str, lines: list[str], connections: int, meeting_id: str) -> Result:
    """Send one request per line through wrk; raises RuntimeError when any answer is not the expected status."""
    threads = 2
    with tempfile.TemporaryDirectory() as tmp:
        script, data = Path(tmp, "rush.lua"), Path(tmp, "lines.txt")
        script.write_text(WRK_SCRIPT)
        data.write_text("\n".join(lines) + "\n")
        env = {**os.environ, "LK_LINES": str(data), "LK_THREADS": str(threads), "LK_KIND": kind, "LK_CSRF": CSRF_TOKEN,
               "LK_MEETING": meeting_id, "LK_STATUS": "200" if kind == "confirm" else "201"}  # fmt: skip
        command = ["wrk", f"-t{threads}", f"-c{connections}", "-d300s", "--timeout", "30s", "-s", str(script),
                   f"http://127.0.0.1:{port}"]  # fmt: skip
        wrk = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        assert wrk.stdout is not None
        out, finished = [], 0
        for line in wrk.stdout:
            out.append(line)
            finished += line.startswith("LK_THREAD_DONE")
            if finished == threads:
                wrk.send_signal(signal.SIGINT)  # wrk's main thread otherwise sleeps out its -d
                break
        out += wrk.stdout.readlines()
        wrk.wait(timeout=30)
    result = next(line for line in out if line.startswith("LK_RESULT")).split()[1:]
    total, failed, micros, p50, p99 = (int(x) for x in result)
    if failed or total != len(lines):
        raise RuntimeError(f"{name}: {failed} unexpected answers, {total} of {len(lines)} answered\n{''.join(out)}")
    return Result(name, total / (micros / 1e6), p50 / 1000, p99 / 1000)


async def python_round(name: str, port: int, kind: str, lines: list[str], connections: int, meeting_id: str) -> Result:
    """The same without wrk, from a minimal asyncio client (slower: it shares the two cores with the server)."""
    conns = [await HttpConnection.open(port) for _ in range(connections)]
    expected = 200 if kind == "confirm" else 201

    async def one(w: int, i: int) -> None:
        if kind == "confirm":
            status, answer = await conns[w].request("POST", f"/bevestigen/{lines[i]}", b"", CSRF_HEADERS)
        else:
            path, auth = f"/api/v1/meetings/{meeting_id}/registrations", f"Authorization: Bearer {lines[i]}\r\n"
            status, answer = await conns[w].request("POST", path, b"{}", auth)
        if status != expected:
            raise RuntimeError(f"{name} answered {status}: {answer[:300]!r}")

    try:
        return await drive(name, len(lines), connections, one)
    finally:
        for c in conns:
            c.close()


async def http_meeting(port: int, key: str) -> str:
    conn = await HttpConnection.open(port)
    try:
        auth = f"Authorization: Bearer {key}\r\n"
        _, body = await conn.request("POST", "/api/v1/meetings", msgspec.json.encode(meeting_body(capacity=100)), auth)
        meeting_id = str(msgspec.json.decode(body)["id"])
        await conn.request("POST", f"/api/v1/meetings/{meeting_id}/publish", b"", auth)
        return meeting_id
    finally:
        conn.close()


async def waiting_requests(conn: asyncpg.Connection, meeting_id: str, people: int, tag: str) -> list[str]:
    """People who asked to register (nothing counts yet) and the tokens of the links in their mails."""
    settings = Settings(secret_key=SECRET)
    ids = [uuid.uuid4() for _ in range(people)]
    requests = [uuid.uuid4() for _ in range(people)]
    await conn.copy_records_to_table(
        "participants",
        records=[(pid, f"{tag}{n}@confirm.example.nl", f"Deelnemer {n}") for n, pid in enumerate(ids)],
        columns=["id", "email", "name"],
    )
    links = [confirm_token(settings, rid) for rid in requests]
    expires = datetime.now(UTC) + timedelta(days=1)
    await conn.copy_records_to_table(
        "registration_requests",
        records=[
            (rid, uuid.UUID(meeting_id), pid, token_hash(t), expires)
            for rid, pid, t in zip(requests, ids, links, strict=True)
        ],
        columns=["id", "meeting_id", "participant_id", "token_hash", "expires_at"],
    )
    return links


async def personal_tokens(conn: asyncpg.Connection, people: int, tag: str) -> list[str]:
    """Proven participants and their personal (manage) tokens, as their mails carry them."""
    ids = [uuid.uuid4() for _ in range(people)]
    await conn.copy_records_to_table(
        "participants",
        records=[
            (pid, f"{tag}{n}@personal.example.nl", f"Deelnemer {n}", datetime.now(UTC)) for n, pid in enumerate(ids)
        ],
        columns=["id", "email", "name", "verified_at"],
    )
    found = [derive(SECRET, "manage", f"bench:{pid}") for pid in ids]
    await conn.copy_records_to_table(
        "participant_tokens",
        records=[(pid, "manage", token_hash(t)) for pid, t in zip(ids, found, strict=True)],
        columns=["participant_id", "purpose", "token_hash"],
    )
    return found


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


async def http_round(
    args: argparse.Namespace, port: int, key: str, setup: asyncpg.Connection, kind: str, tag: str
) -> Result:
    meeting_id = await http_meeting(port, key)
    if kind == "confirm":
        name, lines = "HTTP confirm link (page)", await waiting_requests(setup, meeting_id, args.people, tag)
    else:
        name, lines = "HTTP personal link (API)", await personal_tokens(setup, args.people, tag)
    if shutil.which("wrk"):
        return await asyncio.to_thread(wrk_round, name, port, kind, lines, args.connections, meeting_id)
    return await python_round(name + " [no wrk]", port, kind, lines, args.connections, meeting_id)


async def main(args: argparse.Namespace) -> None:
    admin_dsn = os.environ.get("LEERKRING_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("LEERKRING_REDIS_URL", "redis://127.0.0.1:6379/15")
    name = f"lk_bench_{os.getpid()}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = with_database(admin_dsn, name)
    process: subprocess.Popen[bytes] | None = None
    if not shutil.which("wrk"):
        print("wrk not found (apt-get install wrk): the HTTP side is driven by a Python client and reads low")
    try:
        setup = await connect(dsn)
        await migrate(setup)
        await import_reference_data(setup)
        key, _ = await create_key(setup, role="organiser", organisation_code="VNG", name="bench")
        port = free_port()
        env = {**os.environ, "LEERKRING_DATABASE_URL": dsn, "LEERKRING_REDIS_URL": redis_url,
               "LEERKRING_SECRET_KEY": SECRET, "LEERKRING_DB_POOL_MAX": str(POOL),
               # thousands of people from one address: the per-address limits would stop the rush itself
               "LEERKRING_RATE_LIMIT_SCALE": "0"}  # fmt: skip
        process = subprocess.Popen(  # noqa: ASYNC220 - starting the server does not block
            [sys.executable, "-m", "uvicorn", "services.asgi:create", "--factory", "--port", str(port),
             "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        await wait_for(port, process)
        pool = await asyncpg.create_pool(dsn, min_size=POOL, max_size=POOL)
        # Warm up every side (prepared statements on every pooled connection, first-call costs); not counted.
        meeting_id, ids = await bare_setup(setup, 500, "warm-")
        await bare_round(pool, meeting_id, ids, args.connections)
        warm = argparse.Namespace(**{**vars(args), "people": 500})
        for kind in KINDS:
            await http_round(warm, port, key, setup, kind, f"warm-{kind}-")
        results: dict[str, list[Result]] = {kind: [] for kind in ("bare", *KINDS)}
        ratios: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for r in range(args.rounds):
            meeting_id, ids = await bare_setup(setup, args.people, f"r{r}-")
            # Rotate which goes first, and compare within a round: other work on a shared machine changes the
            # absolute figures from minute to minute, much less the ratio of runs a few seconds apart.
            order = ("bare", *KINDS)
            for kind in order[r % len(order) :] + order[: r % len(order)]:
                if kind == "bare":
                    result = await bare_round(pool, meeting_id, ids, args.connections)
                else:
                    result = await http_round(args, port, key, setup, kind, f"r{r}-{kind}-")
                results[kind].append(result)
                latency = f"p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms"
                print(f"round {r + 1}  {result.name:30} {result.rate:7.0f}/s  {latency}")
            for kind in KINDS:
                ratios[kind].append(results[kind][-1].rate / results["bare"][-1].rate)
            print(f"round {r + 1}  ratio / bare: " + ", ".join(f"{k} {ratios[k][-1]:.2f}" for k in KINDS))
        await pool.close()
        await setup.close()
        print(f"\nmedian of {args.rounds} rounds, {args.people} registrations each, {args.connections} concurrent:")
        for rows in results.values():
            p50 = statistics.median(x.p50_ms for x in rows)
            p99 = statistics.median(x.p99_ms for x in rows)
            rate = statistics.median(x.rate for x in rows)
            print(f"  {rows[0].name:30} {rate:7.0f}/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
        for kind in KINDS:
            found = ratios[kind]
            spread = f"rounds {min(found):.2f}..{max(found):.2f}"
            aim = "; aim: at least 0.70" if kind == "confirm" else ""
            print(f"  ratio {kind} / bare = {statistics.median(found):.2f} (median of rounds; {spread}{aim})")
            record(
                f"registration rush: {kind} vs bare lock-count-insert",
                statistics.median(x.rate for x in results[kind]),
                statistics.median(x.rate for x in results["bare"]),
                unit="registrations/s",
                aim=0.7 if kind == "confirm" else None,
                ratio=statistics.median(found),
            )
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
