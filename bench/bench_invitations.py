"""Invitation fan-out: 10,000 iMIP mails through Leerkring against bare aiosmtplib sending the same messages.

    .venv/bin/python bench/bench_invitations.py [--invitees 10000] [--latency-rounds 20] [--connections 8]

1. API: the time until the organiser's POST /api/v1/meetings/{id}/invitations returns (in-process ASGI, the real
   app and transaction), for audiences of 100 and of 10,000 participants and for 10,000 pasted addresses.
2. Fan-out: one worker process (relay + arq, production tuning) resolves and sends one invitation per invitee to
   a local MailSink running in its own process; timed from the POST until the last message was stored.
3. Bare: the very messages the sink received in step 2, sent again by plain aiosmtplib over the same number of
   SMTP connections as the worker's mailer uses, to the same sink; timed the same way.
Prints both rates and the ratio (Leerkring / bare; the aim is >= 0.7).

PostgreSQL: LEERKRING_BENCH_DATABASE_URL (an admin DSN; a scratch database is created and dropped) or
127.0.0.1:5432 as user postgres. Redis: LEERKRING_BENCH_REDIS_URL (flushed), or else a private embedded server
(never the machine's shared one: flushing it would drop other people's queues).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiosmtplib
import asyncpg
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from litestar.testing import AsyncTestClient  # noqa: E402

from bench.results import record  # noqa: E402
from localdev.embedded.redis import EmbeddedRedis  # noqa: E402
from services.app import create_app  # noqa: E402
from services.auth.keys import create_key  # noqa: E402
from services.db import connect  # noqa: E402
from services.migrate import migrate  # noqa: E402
from services.organisations.importer import import_reference_data  # noqa: E402
from services.settings import Settings  # noqa: E402
from tests.factories import meeting_body  # noqa: E402
from workers.jobs.invitation_batches import LANES  # noqa: E402
from workers.settings import WorkerTuning  # noqa: E402
from workers.testing import running_workers  # noqa: E402

SINK = """
import sys, time, pathlib
from localdev.mailsink import MailSink
sink = MailSink(pathlib.Path(sys.argv[1]))
print(sink.start(), flush=True)
while True:
    time.sleep(3600)
"""


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), to show where the work went."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stored(maildir: Path) -> int:
    # The sink writes "<name>.eml" via a hidden temporary file; only finished messages count.
    return sum(1 for name in os.listdir(maildir) if name[0] != ".")


async def wait_stored(maildir: Path, count: int, within: float = 300.0, *, progress: bool = False) -> float:
    """Poll the sink's folder until `count` messages are stored; returns the monotonic time it happened."""
    start = time.monotonic()
    deadline, report, last = start + within, start + 5, 0
    while (n := stored(maildir)) < count:
        now = time.monotonic()
        if now > deadline:
            raise TimeoutError(f"only {n} of {count} messages arrived")
        if progress and now >= report:
            print(f"    {now - start:5.1f} s: {n:6,} stored ({(n - last) / 5:,.0f}/s)", flush=True)
            report, last = report + 5, n
        # This process also runs the worker: look ten times a second, not more, to leave it the CPU.
        await asyncio.sleep(0.1)
    return time.monotonic()


async def seed(conn: Any, invitees: int) -> None:
    await conn.execute(
        """
        INSERT INTO participants (email, name, organisation_code, professional_group, locale, verified_at,
                                  invitation_consent)
        SELECT 'p' || i || '@gemeente.example.nl', 'Deelnemer ' || i, 'GM0518', 'wmo-consulent',
               CASE WHEN i % 10 = 0 THEN 'en' ELSE 'nl' END, now(), true
        FROM generate_series(1, $1) AS i
        """,
        invitees,
    )
    await conn.execute(
        """
        INSERT INTO participants (email, name, organisation_code, professional_group, verified_at, invitation_consent)
        SELECT 'j' || i || '@gemeente.example.nl', 'Jeugd ' || i, 'GM0518', 'jeugdconsulent', now(), true
        FROM generate_series(1, 100) AS i
        """
    )


async def api_latency(client: Any, headers: dict[str, str], url: str, body: dict[str, Any], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = await client.post(url, json=body, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 202, response.text
    return times


def describe(label: str, ms: list[float]) -> str:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"  {label:<34} median {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms   (n={len(ms)})"


async def bare_send(url: str, messages: list[tuple[str, bytes]], connections: int) -> None:
    """Plain aiosmtplib: `connections` persistent SMTP sessions, each sending its share back to back."""
    host, port = urlsplit(url).hostname or "127.0.0.1", urlsplit(url).port or 25

    async def lane(share: list[tuple[str, bytes]]) -> None:
        smtp = aiosmtplib.SMTP(hostname=host, port=port, start_tls=False)
        await smtp.connect()
        for rcpt, raw in share:
            await smtp.sendmail("noreply@leerkring.local", [rcpt], raw)
        await smtp.quit()

    await asyncio.gather(*(lane(messages[i::connections]) for i in range(connections)))


def read_messages(maildir: Path) -> list[tuple[str, bytes]]:
    import email
    import email.policy

    out = []
    for path in sorted(maildir.glob("*.eml")):
        raw = path.read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        out.append((message["To"].addresses[0].addr_spec, raw))
    return out


async def main(args: argparse.Namespace) -> None:
    admin_dsn = os.environ.get("LEERKRING_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("LEERKRING_BENCH_REDIS_URL", "")
    name = f"lk_bench_inv_{os.getpid()}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    tmp = Path(tempfile.mkdtemp(prefix="lk-bench-inv-"))
    private = None if redis_url else EmbeddedRedis(tmp / "redis")

    def per_mail(seconds: float) -> str:
        return f"{1000 * seconds / args.invitees:.2f} ms"

    sink = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is timed
        [sys.executable, "-c", SINK, str(tmp / "sink")], stdout=subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        if private is not None:
            redis_url = private.start()
        assert sink.stdout is not None
        smtp_url = sink.stdout.readline().decode().strip()
        dsn = with_database(admin_dsn, name)
        conn = await connect(dsn)
        await migrate(conn)
        await import_reference_data(conn)
        await seed(conn, args.invitees)
        key, _ = await create_key(conn, role="organiser", organisation_code="VNG", name="bench")
        redis = Redis.from_url(redis_url)
        await redis.flushdb()
        await redis.aclose()
        settings = Settings(
            database_url=dsn, redis_url=redis_url, smtp_url=smtp_url, base_url="https://leerkring.bench",
            secret_key=os.urandom(16).hex(), var_dir=tmp, max_body_bytes=4_000_000,
            mail_quota_per_day=100_000_000,  # the latency rounds invite the same audience many times over
        )  # fmt: skip
        headers = {"Authorization": f"Bearer {key}"}
        async with AsyncTestClient(app=create_app(settings)) as client:
            meeting = (await client.post("/api/v1/meetings", json=meeting_body(capacity=500), headers=headers)).json()
            await client.post(f"/api/v1/meetings/{meeting['id']}/publish", headers=headers)
            url = f"/api/v1/meetings/{meeting['id']}/invitations"
            pasted = [f"extern{i}@bureau.example.nl" for i in range(args.invitees)]
            print(f"API: POST {url.replace(meeting['id'], '{id}')} until it returns")
            for label, body in (
                ("100 invitees (jeugdconsulent)", {"groups": ["jeugdconsulent"]}),
                (f"{args.invitees:,} invitees (wmo-consulent)", {"groups": ["wmo-consulent"]}),
                (f"{args.invitees:,} pasted addresses", {"emails": pasted}),
            ):
                await api_latency(client, headers, url, body, 2)  # warm-up
                print(describe(label, await api_latency(client, headers, url, body, args.latency_rounds)))
            # Those batches were only for timing the API: no worker has seen them, so they simply go.
            await conn.execute("DELETE FROM invitation_batches")
            await conn.execute("DELETE FROM outbox WHERE type = 'invitation.requested'")

            tuning = WorkerTuning()
            maildir = tmp / "sink"
            async with running_workers(settings, tuning=tuning):
                cpu = (cpu_seconds(os.getpid()), cpu_seconds(sink.pid))
                start = time.monotonic()
                response = await client.post(url, json={"groups": ["wmo-consulent"]}, headers=headers)
                api_done = time.monotonic()
                assert response.status_code == 202
                first = await wait_stored(maildir, 1)
                last = await wait_stored(maildir, args.invitees, progress=args.progress)
                ours_cpu = (cpu_seconds(os.getpid()) - cpu[0], cpu_seconds(sink.pid) - cpu[1])
        ours = args.invitees / (last - start)
        print(f"\nFan-out of {args.invitees:,} invitations (1 worker, {tuning.max_jobs} jobs, production tuning):")
        print(f"  API returned after {1000 * (api_done - start):.1f} ms; first mail after {first - start:.2f} s")
        print(f"  all stored after {last - start:.2f} s: {ours:,.0f} mails/s")
        print(f"  CPU per mail: Leerkring (API + worker) {per_mail(ours_cpu[0])}, SMTP sink {per_mail(ours_cpu[1])}")

        messages = read_messages(maildir)
        assert len(messages) == args.invitees
        assert len({rcpt for rcpt, _ in messages}) == args.invitees, "one mail per invitee"
        cpu = (cpu_seconds(os.getpid()), cpu_seconds(sink.pid))
        start = time.monotonic()
        await bare_send(smtp_url, messages, args.connections)
        last = await wait_stored(maildir, 2 * args.invitees)
        bare_cpu = (cpu_seconds(os.getpid()) - cpu[0], cpu_seconds(sink.pid) - cpu[1])
        bare = args.invitees / (last - start)
        print(f"\nBare aiosmtplib, the same {args.invitees:,} messages over {args.connections} connections:")
        print(f"  all stored after {last - start:.2f} s: {bare:,.0f} mails/s")
        print(f"  CPU per mail: aiosmtplib {per_mail(bare_cpu[0])}, SMTP sink {per_mail(bare_cpu[1])}")
        print(f"\nRatio Leerkring / bare: {ours / bare:.2f} (aim >= 0.7)")
        record(f"invitation fan-out, {args.invitees:,} mails vs bare aiosmtplib", ours, bare, unit="mails/s", aim=0.7)
        await conn.close()
    finally:
        sink.terminate()
        sink.wait()
        if private is not None:
            private.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        for path in (tmp / "sink").glob("*.eml"):
            path.unlink()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invitees", type=int, default=10_000)
    parser.add_argument("--latency-rounds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=LANES, help="bare SMTP connections (= the worker's lanes)")
    parser.add_argument("--progress", action="store_true", help="print the sending rate every 5 s")
    asyncio.run(main(parser.parse_args()))
