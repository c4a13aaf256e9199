"""Mixed load: 2 API processes and 2 workers under feed polling, a registration rush and a 10,000-invitation fan-out
at once, against the same fan-out alone on the same processes.

    .venv/bin/python bench/bench_mixed.py [--invitees 10000] [--rush 2000] [--feed-rate 60] [--quick]

Processes, as in production: `leerkring api --workers 2` (one port, the kernel spreads connections over both),
two `leerkring worker` processes with production tuning, a private redis-server, an SMTP sink in its own process,
PostgreSQL on 127.0.0.1:5432 (a scratch database, dropped afterwards). The load comes from this process (httpx).

1. alone: POST an invitation to every one of `--invitees` participants; time until the last mail is recorded sent.
2. mixed: calendar apps poll feeds at `--feed-rate` requests/s (public feed revalidated with If-None-Match: 304,
   public feed fetched whole: 200, personal feeds: 200), and at the same moment a second fan-out of the same size
   starts and `--rush` people register for a 100-seat meeting over 32 connections (each registration mails too).
Prints p50/p99 per kind of request (client side, and server side from /metrics), errors (any unexpected status or
transport error, 5xx in the API's metrics, dead jobs in the workers'), and the fan-out's throughput mixed / alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from bench.results import record  # noqa: E402
from localdev.embedded import EmbeddedRedis  # noqa: E402
from services.auth.keys import create_key  # noqa: E402
from services.db import connect  # noqa: E402
from services.migrate import migrate  # noqa: E402
from services.organisations.importer import import_reference_data  # noqa: E402
from services.participants import tokens  # noqa: E402
from tests.factories import meeting_body, participant_body  # noqa: E402

SINK = """
import sys, time, pathlib
from localdev.mailsink import MailSink
sink = MailSink(pathlib.Path(sys.argv[1]))
print(sink.start(), flush=True)
while True:
    time.sleep(3600)
"""
SENT = "SELECT count(*) FROM deliveries WHERE meeting_id = $1 AND kind = 'invitation' AND status = 'sent'"
PENDING = "SELECT count(*) FROM event_jobs WHERE status = 'pending'"


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


class Tally:
    """Client-side latencies (ms) and errors per kind of request."""

    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    async def timed(self, kind: str, call: Any, expected: set[int]) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            answer: httpx.Response = await call
        except httpx.HTTPError as exc:
            self.errors[kind].append(type(exc).__name__)
            return None
        self.ms[kind].append((time.perf_counter() - start) * 1000)
        if answer.status_code not in expected:
            self.errors[kind].append(f"{answer.status_code} {answer.text[:80]}")
        return answer


async def seed(conn: Any, invitees: int, personal: int) -> list[str]:
    """`invitees` participants in one professional group; feed tokens for the first `personal` of them."""
    await conn.execute(
        """
        INSERT INTO participants (email, name, organisation_code, professional_group, locale, verified_at,
                                  invitation_consent)
        SELECT 'p' || i || '@gemeente.example.nl', 'Deelnemer ' || i, 'GM0518', 'wmo-consulent', 'nl', now(), true
        FROM generate_series(1, $1) AS i
        """,
        invitees,
    )
    ids = await conn.fetch("SELECT id FROM participants ORDER BY email LIMIT $1", personal)
    return [await tokens.issue(conn, UUID(str(r["id"])), "feed") for r in ids]


async def wait_idle(conn: Any, within: float = 600) -> None:
    """Until the workers have done every job (feed fragments of the seeded meetings, mails)."""
    deadline = time.monotonic() + within
    while await conn.fetchval(PENDING) or await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not catch up")
        await asyncio.sleep(0.5)


async def fan_out(api: httpx.AsyncClient, conn: Any, headers: dict[str, str], meeting_id: str, count: int) -> float:
    """POST the invitation and wait until `count` mails are recorded sent; returns mails per second."""
    start = time.monotonic()
    answer = await api.post(f"/api/v1/meetings/{meeting_id}/invitations", json={"groups": ["wmo-consulent"]},
                            headers=headers)  # fmt: skip
    assert answer.status_code == 202, answer.text
    deadline = start + 1800
    while (sent := await conn.fetchval(SENT, UUID(meeting_id))) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fan-out: only {sent} of {count} sent")
        await asyncio.sleep(0.25)
    return count / (time.monotonic() - start)


async def poll_feeds(base: str, rate: float, personal: list[str], tally: Tally, stop: asyncio.Event) -> None:
    """Calendar apps: `rate` requests a second over 8 connections, until `stop`."""
    lanes = 8
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=lanes)) as client:
        first = await client.get("/feeds/public.ics")
        etag = first.headers["etag"]

        async def lane(n: int) -> None:
            rng = random.Random(n)
            interval = lanes / rate
            next_at = time.monotonic() + rng.random() * interval
            while not stop.is_set():
                pick = rng.random()
                if pick < 0.6:
                    call = client.get("/feeds/public.ics", headers={"If-None-Match": etag})
                    await tally.timed("feed public, revalidated (304)", call, {304})
                elif pick < 0.8:
                    await tally.timed("feed public, whole (200)", client.get("/feeds/public.ics"), {200})
                else:
                    token = rng.choice(personal)
                    await tally.timed("feed personal (200)", client.get(f"/feeds/p/{token}.ics"), {200})
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

        await asyncio.gather(*(lane(n) for n in range(lanes)))


async def rush(base: str, headers: dict[str, str], meeting_id: str, people: int, tally: Tally) -> float:
    """`people` registrations over 32 connections; returns registrations per second."""
    url = f"/api/v1/meetings/{meeting_id}/registrations"
    queue = list(range(people))
    start = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(max_connections=32)) as client:

        async def lane() -> None:
            while queue:
                n = queue.pop()
                body = {"participant": participant_body(n, email=f"r{n}@rush.example.nl")}
                await tally.timed("registration (POST)", client.post(url, json=body, headers=headers), {201})

        await asyncio.gather(*(lane() for _ in range(32)))
    return people / (time.monotonic() - start)


def metric(text: str, name: str, **labels: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def buckets(text: str, route: str) -> dict[float, float]:
    """Cumulative latency bucket counts of one route (summed over methods)."""
    merged: dict[float, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "leerkring_http_request_duration_seconds_bucket" and s.labels.get("route") == route:
                merged[float(s.labels["le"])] += s.value
    return merged


def buckets_routes(text: str) -> set[str]:
    return {
        s.labels["route"]
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "leerkring_http_request_duration_seconds_count"
    }


def server_quantile(before: str, after: str, route: str, q: float) -> tuple[float, float]:
    """(requests, the `q` quantile's bucket upper bound in ms) of a route between two scrapes."""
    first, last = buckets(before, route), buckets(after, route)
    delta = {le: last[le] - first.get(le, 0.0) for le in last}
    total = delta.get(float("inf"), 0.0)
    for le in sorted(delta):
        if total and delta[le] >= q * total:
            return total, le * 1000
    return total, float("nan")


@contextlib.asynccontextmanager
async def processes(env: dict[str, str], tmp: Path, port: int) -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    cli = [sys.executable, "-m", "services.cli"]
    try:
        for n in range(2):
            worker_env = {**env, "LEERKRING_WORKER_METRICS_PORT": str(free_port())}
            with (tmp / f"worker{n}.log").open("wb") as out:
                started.append(subprocess.Popen([*cli, "worker"], cwd=ROOT, env=worker_env, stdout=out,  # noqa: ASYNC220
                                                stderr=subprocess.STDOUT))  # fmt: skip
            env[f"WORKER{n}_PORT"] = worker_env["LEERKRING_WORKER_METRICS_PORT"]
        with (tmp / "api.log").open("wb") as out:
            started.append(subprocess.Popen([*cli, "api", "--workers", "2", "--port", str(port)], cwd=ROOT, env=env,  # noqa: ASYNC220
                                            stdout=out, stderr=subprocess.STDOUT))  # fmt: skip
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"the API did not get ready; see {tmp / 'api.log'}")
        yield started
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                await asyncio.to_thread(process.wait, 70)
            except subprocess.TimeoutExpired:
                process.kill()


async def main(args: argparse.Namespace) -> int:
    # SIGTERM (a timeout, the runner) cancels like Ctrl-C, so the processes, the sink and the database are cleaned up;
    # a shell's background job ignores SIGINT.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    admin_dsn = os.environ.get("LEERKRING_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"lk_bench_mixed_{os.getpid()}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    tmp = Path(tempfile.mkdtemp(prefix="lk-bench-mixed-"))
    redis_server = EmbeddedRedis(tmp / "redis")
    sink = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is timed
        [sys.executable, "-c", SINK, str(tmp / "sink")], stdout=subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    code = 0
    try:
        assert sink.stdout is not None
        smtp_url = sink.stdout.readline().decode().strip()
        redis_url = redis_server.start()
        dsn = with_database(admin_dsn, name)
        conn = await connect(dsn)
        await migrate(conn)
        await import_reference_data(conn)
        personal = await seed(conn, args.invitees, 200)
        key, _ = await create_key(conn, role="organiser", organisation_code="VNG", name="bench")
        headers = {"Authorization": f"Bearer {key}"}
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEERKRING_")}
        env.update(
            PYTHONPATH=str(ROOT), LEERKRING_DATABASE_URL=dsn, LEERKRING_REDIS_URL=redis_url,
            LEERKRING_SMTP_URL=smtp_url, LEERKRING_BASE_URL="https://leerkring.bench",
            LEERKRING_SECRET_KEY=os.urandom(24).hex(), LEERKRING_VAR_DIR=str(tmp), LEERKRING_RATE_LIMIT_SCALE="0",
            LEERKRING_LOG_LEVEL="WARNING",
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        print(f"load average before: {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs; logs in {tmp}", flush=True)
        async with processes(env, tmp, port), httpx.AsyncClient(base_url=base, timeout=120) as api:
            meetings = []
            for n in range(3 + args.calendar):
                capacity = 100 if n == 2 else 50
                body = meeting_body(title=f"Bijeenkomst {n}", capacity=capacity)
                made = (await api.post("/api/v1/meetings", json=body, headers=headers)).json()
                published = await api.post(f"/api/v1/meetings/{made['id']}/publish", headers=headers)
                assert published.status_code == 200, published.text
                meetings.append(made["id"])
            alone_id, mixed_id, rush_id = meetings[:3]
            await wait_idle(conn)

            print(f"\n1. fan-out alone: {args.invitees:,} invitations", flush=True)
            alone = await fan_out(api, conn, headers, alone_id, args.invitees)
            print(f"   {alone:,.0f} mails/s (load {os.getloadavg()[0]:.1f})", flush=True)
            await wait_idle(conn)
            before = (await api.get("/metrics")).text
            workers_before = [
                (await api.get(f"http://127.0.0.1:{env[f'WORKER{n}_PORT']}/metrics")).text for n in range(2)
            ]

            print(
                f"\n2. mixed: feeds at {args.feed_rate:.0f}/s, {args.rush:,} registrations, the same fan-out",
                flush=True,
            )
            tally, stop = Tally(), asyncio.Event()
            polling = asyncio.create_task(poll_feeds(base, args.feed_rate, personal, tally, stop))
            await asyncio.sleep(2)
            started = time.monotonic()
            mixed_task = asyncio.create_task(fan_out(api, conn, headers, mixed_id, args.invitees))
            rush_rate = await rush(base, headers, rush_id, args.rush, tally)
            rush_took = time.monotonic() - started
            mixed = await mixed_task
            stop.set()
            await polling
            load_after = os.getloadavg()[0]
            after = (await api.get("/metrics")).text
            await wait_idle(conn)
            workers_after = [
                (await api.get(f"http://127.0.0.1:{env[f'WORKER{n}_PORT']}/metrics")).text for n in range(2)
            ]
            confirmed = await conn.fetchval("SELECT confirmed_count FROM meetings WHERE id = $1", UUID(rush_id))
            registered = await conn.fetchval("SELECT count(*) FROM registrations WHERE meeting_id = $1", UUID(rush_id))
        await conn.close()

        print(f"   rush: {args.rush:,} registrations in {rush_took:.1f} s ({rush_rate:,.0f}/s); "
              f"{confirmed} confirmed, {registered - confirmed} on the waiting list")  # fmt: skip
        print(f"   fan-out: {mixed:,.0f} mails/s (load {load_after:.1f})")
        print(f"\nper request kind, client side (ms):\n  {'kind':34} {'n':>6} {'p50':>8} {'p99':>8} {'errors':>7}")
        errors = 0
        for kind, ms in sorted(tally.ms.items()):
            errors += len(tally.errors[kind])
            print(f"  {kind:34} {len(ms):6} {statistics.median(ms):8.1f} {percentile(ms, 0.99):8.1f} "
                  f"{len(tally.errors[kind]):7}")  # fmt: skip
        for kind, found in tally.errors.items():
            if found:
                print(f"  errors in {kind}: {sorted(set(found))[:5]}")
        print("server side during the mixed run, from /metrics (bucket upper bounds, ms; the feeds' kinds together):")
        routes = {r for r in buckets_routes(after) if r.startswith(("/feeds/", "/api/v1/meetings/{meeting_id}/reg"))}
        for route in sorted(routes):
            count, p50 = server_quantile(before, after, route, 0.5)
            _, p99 = server_quantile(before, after, route, 0.99)
            print(f"  {route:48} n {count:6.0f}  p50 <= {p50:6.0f}  p99 <= {p99:6.0f}")
        server_errors = sum(
            metric(after, "leerkring_http_requests_total", status=s)
            - metric(before, "leerkring_http_requests_total", status=s)
            for s in ("500", "502", "503", "504")
        )
        dead = sum(metric(w, "leerkring_jobs_total", outcome="dead") for w in workers_after) - sum(
            metric(w, "leerkring_jobs_total", outcome="dead") for w in workers_before
        )
        sent = sum(metric(w, "leerkring_mails_total", outcome="sent") for w in workers_after) - sum(
            metric(w, "leerkring_mails_total", outcome="sent") for w in workers_before
        )
        print(f"errors: {errors} client-side, {server_errors:.0f} 5xx in the API's metrics, {dead:.0f} dead jobs; "
              f"workers sent {sent:,.0f} mails in the mixed run")  # fmt: skip
        print(f"\nfan-out mixed / alone: {mixed / alone:.2f} ({mixed:,.0f} vs {alone:,.0f} mails/s)")
        record(f"fan-out of {args.invitees:,} under mixed load vs alone", mixed, alone, unit="mails/s", aim=0.5)
        for kind, ms in sorted(tally.ms.items()):
            record(f"mixed load: {kind} p99 vs p50", percentile(ms, 0.99), statistics.median(ms), unit="ms", aim=None,
                   better="lower")  # fmt: skip
        if errors or server_errors or dead:
            code = 1
    finally:
        sink.terminate()
        sink.wait()
        redis_server.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return code


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invitees", type=int, default=10_000)
    parser.add_argument("--rush", type=int, default=2_000)
    parser.add_argument("--feed-rate", type=float, default=60.0, help="feed requests per second")
    parser.add_argument("--calendar", type=int, default=30, help="further published meetings, for the public feed")
    parser.add_argument("--quick", action="store_true", help="1,000 invitees, 300 registrations")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.invitees, arguments.rush, arguments.calendar = 1000, 300, 5
    sys.exit(asyncio.run(main(arguments)))
