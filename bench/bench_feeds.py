"""Calendar feeds: cached public feed (200) and revalidation (304) through Leerkring against bare Litestar routes
returning the same bytes / an empty 304 on the same server, plus a personal feed against a raw join.

    .venv/bin/python bench/bench_feeds.py [--meetings 500] [--seconds 3] [--rounds 5] [--connections 32]
    .venv/bin/python bench/bench_feeds.py --sizes

--sizes: bytes of the largest feed of each kind at DESIGN scale (a year of meetings, 120 a week, from
tests/design_scale.py) against the 1 MB that Google Calendar takes whole, and against the baseline of the same run:
the public feed as it was before feed windows (everything from four weeks back, no end).

HTTP: uvicorn (one worker, uvloop, httptools) serving create_app() with two bare routes added, loaded by `wrk`
(apt-get install wrk) or, without it, a small asyncio keep-alive client. Each round runs every Leerkring/bare pair
back to back (alternating which goes first) and the median of the per-round ratios is reported, which keeps the
noise of a shared machine out of the ratio; the same four targets are also timed inside the process (ASGI calls,
no network), which is steadier still. Personal feed (50 registrations), timed in-process: the feed service
(one indexed query, validators, assembly) against a raw join query plus b"".join of the same fragments, and the
assembly alone against b"".join alone.

PostgreSQL: LEERKRING_BENCH_DATABASE_URL (an admin DSN; a scratch database is created and dropped) or
127.0.0.1:5432 as user postgres. Redis is never touched by feeds; create_app only needs a URL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from litestar import Litestar, Response, get  # noqa: E402

from bench.results import record  # noqa: E402
from services.app import create_app  # noqa: E402
from services.calendar import assemble, feed_header  # noqa: E402
from services.db import connect, create_pool  # noqa: E402
from services.feeds import (  # noqa: E402
    personal,
    service,
    windows,
)
from services.feeds.cache import FeedCache  # noqa: E402
from services.feeds.fragments import refresh_stale_fragments  # noqa: E402
from services.migrate import migrate  # noqa: E402
from services.organisations.importer import import_reference_data  # noqa: E402
from services.settings import Settings, load_settings  # noqa: E402
from tests import design_scale  # noqa: E402

BARE_FILE = "LEERKRING_BENCH_BARE_FILE"
THEMES = ["de-bedoeling", "vraagverheldering", "netwerkend-werken", "zelfsturende-teams"]
GROUPS = ["wmo-consulent", "jeugdconsulent", "wijkteammedewerker", "beleidsmedewerker"]


def server_app() -> Litestar:
    """uvicorn factory: the real app plus bare routes that return the same feed bytes / an empty 304."""
    body = Path(os.environ[BARE_FILE]).read_bytes()

    @get("/bare/feed.ics", include_in_schema=False)
    async def bare_feed() -> Response[bytes]:
        return Response(body, media_type="text/calendar; charset=utf-8")

    @get("/bare/304", include_in_schema=False)
    async def bare_304() -> Response[bytes]:
        return Response(b"", status_code=304)

    app = create_app(load_settings())
    app.register(bare_feed)
    app.register(bare_304)
    return app


async def seed(conn: Any, meetings: int) -> uuid.UUID:
    """Published meetings (some cancelled, some online, Dutch text and emoji), their fragments, one participant
    with 50 registrations (40 confirmed, 10 on a waiting list); returns the participant's id."""
    rnd = random.Random(5545)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rows = []
    for i in range(meetings):
        # Inside the public window (1 week back, 4 ahead), so the cached feed holds all of them.
        start = now + timedelta(days=rnd.randint(-6, 27), hours=rnd.randint(0, 8))
        cancelled = i % 25 == 0
        rows.append(
            (
                f"Intervisie {i}: {rnd.choice(['casuïstiek', 'vraagverheldering', 'de bedoeling'])} 🧭",
                "We bespreken casussen uit de praktijk, met ruimte voor vragen; neem een casus mee.\n" * 3,
                [rnd.choice(THEMES)],
                start,
                start + timedelta(hours=3),
                "Stadhuis",
                f"Spui {i}",
                "Den Haag",
                f"https://meet.example.nl/{i}" if i % 3 == 0 else None,
                [rnd.choice(GROUPS)] if i % 2 else [],
                "cancelled" if cancelled else "published",
                1 if cancelled else 0,
            )
        )
    await conn.executemany(
        """
        INSERT INTO meetings (title, description, themes, format, starts_at, ends_at, venue_name, venue_address,
                              venue_city, online_url, capacity, audience_groups, organiser_codes, status, sequence,
                              published_at)
        VALUES ($1, $2, $3, 'intervisie', $4, $5, $6, $7, $8, $9, 30, $10, '{VNG}', $11, $12, now())
        """,
        rows,
    )
    settings = Settings(base_url="https://leerkring.example.nl")
    while await refresh_stale_fragments(conn, settings, limit=1000):
        pass
    person = await conn.fetchval(
        "INSERT INTO participants (email, name, organisation_code, professional_group) "
        "VALUES ('bench@gemeente.example.nl', 'Bench', 'GM0518', 'wmo-consulent') RETURNING id"
    )
    await conn.execute(
        """
        INSERT INTO registrations (id, meeting_id, participant_id, status, position)
        SELECT gen_random_uuid(), id, $1, CASE WHEN n <= 40 THEN 'confirmed' ELSE 'waitlisted' END,
               CASE WHEN n <= 40 THEN NULL ELSE 1 END
        FROM (SELECT id, row_number() OVER (ORDER BY starts_at) AS n FROM meetings
              WHERE status = 'published' AND starts_at > now()) m
        WHERE n <= 50
        """,
        person,
    )
    return person  # type: ignore[no-any-return]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _client_loop(port: int, request: bytes, deadline: float) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    try:
        while time.monotonic() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"(?i)content-length: *(\d+)", head)
            await reader.readexactly(int(match.group(1)) if match else 0)
            done += 1
    finally:
        writer.close()
    return done


async def load(port: int, path: str, headers: dict[str, str], seconds: float, connections: int) -> float:
    """Requests per second for GET path over `connections` keep-alive connections."""
    if shutil.which("wrk"):
        args = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
        for name, value in headers.items():
            args += ["-H", f"{name}: {value}"]
        proc = await asyncio.create_subprocess_exec(
            *args, f"http://127.0.0.1:{port}{path}", stdout=asyncio.subprocess.PIPE
        )
        stdout = (await proc.communicate())[0].decode()
        failed = re.search(r"Non-2xx or 3xx responses: (\d+)", stdout)
        rate = re.search(r"Requests/sec:\s+([\d.]+)", stdout)
        if proc.returncode or failed or rate is None:
            raise RuntimeError(f"wrk {path}: {stdout}")
        return float(rate.group(1))
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode()
    deadline = time.monotonic() + seconds
    counts = await asyncio.gather(*(_client_loop(port, request, deadline) for _ in range(connections)))
    return sum(counts) / seconds


PAIRS = {
    "cached feed 200": (("/feeds/public.ics", False), ("/bare/feed.ics", False)),
    "revalidation 304": (("/feeds/public.ics", True), ("/bare/304", True)),
}
AIMS = {"cached feed 200": 0.80, "revalidation 304": 0.85}


async def http_rounds(args: argparse.Namespace, env: dict[str, str], etag: str) -> dict[str, list[tuple[float, float]]]:
    """(Leerkring, bare) requests per second per round; each pair runs back to back, in alternating order, so
    the noise of a shared machine hits both sides of a ratio alike."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uvicorn", "bench.bench_feeds:server_app", "--factory", "--port", str(port),
        "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
        cwd=ROOT, env=env,
    )  # fmt: skip
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in PAIRS}
    try:
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        for ours, bare in PAIRS.values():  # warm up; the feed cache fills on the first request
            for path, conditional in (ours, bare):
                await load(port, path, {"If-None-Match": etag} if conditional else {}, 1, args.connections)
        for n in range(args.rounds):
            for name, pair in PAIRS.items():
                rates = {}
                for path, conditional in pair if n % 2 == 0 else pair[::-1]:
                    headers = {"If-None-Match": etag} if conditional else {}
                    rates[path] = await load(port, path, headers, args.seconds, args.connections)
                ours, bare = rates[pair[0][0]], rates[pair[1][0]]
                results[name].append((ours, bare))
                print(f"  round {n + 1} {name}: Leerkring {ours:8.0f}  bare {bare:8.0f} req/s  ratio {ours / bare:.2f}")
    finally:
        server.terminate()
        await server.wait()
    return results


async def asgi_timing(env: dict[str, str], etag: str, repeat: int = 20_000) -> dict[str, float]:
    """Microseconds of CPU per request inside the ASGI app (no network, no load generator): the same four targets,
    called directly. Steadier than HTTP figures on a shared machine, and the same comparison."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        app = server_app()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    sent: list[int] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            sent.append(message["status"])

    def scope(path: str, conditional: bool) -> Any:
        headers = [(b"host", b"bench")] + ([(b"if-none-match", etag.encode())] if conditional else [])
        return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
                "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
                "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}  # fmt: skip

    result: dict[str, float] = {}
    app.state.pool = await create_pool(env["LEERKRING_DATABASE_URL"], min_size=1, max_size=2)  # what lifespan does
    try:
        for name, pair in PAIRS.items():
            for side, (path, conditional) in zip(("Leerkring", "bare"), pair, strict=True):
                for _ in range(2):  # the first pass warms the feed cache
                    started = time.perf_counter()
                    for _ in range(repeat):
                        await app(scope(path, conditional), receive, send)
                    result[f"{name} {side}"] = (time.perf_counter() - started) / repeat * 1e6
                assert sent[-1] == (304 if conditional else 200), (path, sent[-1])
    finally:
        await app.state.pool.close()
    return result


async def personal_timing(dsn: str, person: uuid.UUID, repeat: int = 400) -> dict[str, float]:
    """Median seconds per call: the feed service (query, validators, assembly) against a raw join query plus
    b"".join of the same fragments; and assembly alone (header, fragments, ETag) against b"".join alone."""
    raw_sql = (
        "SELECT f.vevent FROM registrations r JOIN meeting_fragments f ON f.meeting_id = r.meeting_id "
        "WHERE r.participant_id = $1 AND r.status IN ('confirmed', 'waitlisted', 'offered') "
        "ORDER BY f.starts_at, f.meeting_id"
    )
    conn = await connect(dsn)
    try:
        feed = await personal.personal_feed(conn, person, with_group=False)
        fragments = list(feed.fragments)

        async def ours() -> object:
            return (await personal.personal_feed(conn, person, with_group=False)).body()

        async def raw() -> object:
            return b"".join(r[0] for r in await conn.fetch(raw_sql, person))

        async def assemble_only() -> object:
            return feed.body()

        async def join_only() -> object:
            return b"".join(fragments)

        timings: dict[str, list[float]] = {"ours": [], "raw": [], "assemble": [], "join": []}
        calls = {"ours": ours, "raw": raw, "assemble": assemble_only, "join": join_only}
        for _ in range(5):
            for name, fn in calls.items():
                started = time.perf_counter()
                for _ in range(repeat):
                    await fn()
                timings[name].append((time.perf_counter() - started) / repeat)
        result = {name: statistics.median(values) for name, values in timings.items()}
        result["size"] = len(await ours())  # type: ignore[arg-type]
        result["meetings"] = len(feed.fragments)
        return result
    finally:
        await conn.close()


async def sizes(dsn: str) -> None:
    """The --sizes figures (see the module docstring)."""
    conn = await connect(dsn)
    try:
        started = time.perf_counter()
        seeded = await design_scale.seed(conn)
        print(f"seeded {seeded.meetings} meetings (DESIGN scale) in {time.perf_counter() - started:.1f} s")
        # Before windows: every fragment ending after four weeks ago, however far ahead.
        rows = await conn.fetch(
            "SELECT vevent, tzid FROM meeting_fragments WHERE ends_at > $1 ORDER BY starts_at, meeting_id",
            windows.today() - timedelta(weeks=4),
        )
        header = feed_header(service.PUBLIC.name, {r["tzid"] for r in rows}, description=service.SHARED_DESCRIPTION)
        unbounded = len(assemble(header, [r["vevent"] for r in rows]))
    finally:
        await conn.close()
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        found = await design_scale.sizes(pool, seeded)
    finally:
        await pool.close()
    limit = windows.MAX_FEED_BYTES
    print(f"largest feed of each kind, limit {limit:,} bytes (warning from {windows.WARN_BYTES:,}):")
    print(f"  {'kind':<14}{'largest':<28}{'meetings':>9}{'bytes':>11}{'per meeting':>13}{'of limit':>10}")
    for f in found:
        print(
            f"  {f.kind:<14}{f.largest:<28}{f.meetings:>9}{f.bytes:>11,}{f.bytes / max(f.meetings, 1):>13,.0f}"
            f"{f.bytes / limit:>10.0%}"
        )
    public = next(f for f in found if f.kind == "public")
    print(
        f"baseline (public feed without a window, as before): {len(rows)} meetings, {unbounded:,} bytes "
        f"({unbounded / limit:.1f}x the limit); the windowed public feed is {public.bytes / unbounded:.2f} of it"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--meetings", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--sizes", action="store_true", help="only the feed sizes at DESIGN scale")
    args = parser.parse_args()

    admin_dsn = os.environ.get("LEERKRING_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    database = f"lk_bench_feeds_{os.getpid()}"
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{database}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{database}"')
    if args.sizes:
        try:
            conn = await connect(dsn)
            try:
                await migrate(conn)
                await import_reference_data(conn)
            finally:
                await conn.close()
            await sizes(dsn)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await admin.close()
        return
    bare_file = Path(tempfile.mkstemp(suffix=".ics")[1])
    try:
        conn = await connect(dsn)
        try:
            await migrate(conn)
            await import_reference_data(conn)
            started = time.perf_counter()
            person = await seed(conn, args.meetings)
            print(f"seeded {args.meetings} meetings and their fragments in {time.perf_counter() - started:.1f} s")
        finally:
            await conn.close()
        pool = await create_pool(dsn, min_size=1, max_size=2)
        feed = await service.shared_feed(FeedCache(), pool, "public")
        await pool.close()
        assert feed is not None
        await asyncio.to_thread(bare_file.write_bytes, feed.rep.body)
        print(f"public feed: {feed.count} meetings, {len(feed.rep.body) / 1024:.0f} KiB, ETag {feed.rep.etag}")
        env = {
            **os.environ,
            "LEERKRING_DATABASE_URL": dsn,
            "LEERKRING_REDIS_URL": os.environ.get("LEERKRING_REDIS_URL", "redis://127.0.0.1:6379/15"),
            "LEERKRING_BASE_URL": "https://leerkring.example.nl",
            BARE_FILE: str(bare_file),
        }
        client = "wrk" if shutil.which("wrk") else "an asyncio client"
        print(f"HTTP: one uvicorn worker, {args.connections} connections, {client}, {args.seconds:.0f} s per run:")
        results = await http_rounds(args, env, feed.rep.etag)
        for name, pairs in results.items():
            ratio = statistics.median(ours / bare for ours, bare in pairs)
            ours_rate = statistics.median(p[0] for p in pairs)
            bare_rate = statistics.median(p[1] for p in pairs)
            print(
                f"{name}: Leerkring {ours_rate:.0f} req/s vs bare {bare_rate:.0f} req/s (medians); "
                f"median ratio {ratio:.2f} (aim >= {AIMS[name]:.2f})"
            )
            record(f"feed over HTTP: {name} vs bare", ours_rate, bare_rate, unit="req/s", aim=AIMS[name], ratio=ratio)
        cpu = await asgi_timing(env, feed.rep.etag)
        print("in-process ASGI, CPU per request (no network):")
        for name in PAIRS:
            ours, bare = cpu[f"{name} Leerkring"], cpu[f"{name} bare"]
            print(f"  {name}: Leerkring {ours:.1f} us vs bare {bare:.1f} us -> rate ratio {bare / ours:.2f}")
        t = await personal_timing(dsn, person)
        print(
            f"personal feed, {t['meetings']:.0f} meetings ({t['size'] / 1024:.0f} KiB), median per call:\n"
            f"  service (query + validators + assembly) {t['ours'] * 1e3:.3f} ms vs raw join query + b''.join "
            f"{t['raw'] * 1e3:.3f} ms -> {t['ours'] / t['raw']:.2f}x (aim <= 2x)\n"
            f"  assembly alone (header + fragments + end) {t['assemble'] * 1e6:.1f} us vs b''.join "
            f"{t['join'] * 1e6:.1f} us -> {t['assemble'] / t['join']:.2f}x"
        )
        record("personal feed per call vs raw join", t["ours"] * 1e3, t["raw"] * 1e3, unit="ms", aim=2, better="lower")
    finally:
        await asyncio.to_thread(bare_file.unlink, True)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
