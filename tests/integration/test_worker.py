"""Worker behaviour against real PostgreSQL, Redis and SMTP: retries, dead letters, Redis loss, cancellation."""

from __future__ import annotations

import asyncio
import collections
import itertools
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from localdev.mailsink import MailSink
from services import cli
from services.db import Connection
from services.mail.message import build_message
from services.settings import Settings
from workers.context import load_event, pool_of, settings_of
from workers.deliveries import Mail, claim, send_claimed, send_once
from workers.mailer import Mailer
from workers.mailerrors import ServerDown
from workers.registry import JobDeferred, PermanentJobError, job
from workers.routes import ROUTES
from workers.testing import FAST, emit_published, no_pending_jobs, running_workers, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]

TABLES = """
CREATE TABLE test_runs (outbox_id bigint, attempt integer, at timestamptz DEFAULT clock_timestamp());
CREATE TABLE test_flags (fail_until integer NOT NULL, permanent boolean NOT NULL DEFAULT false, slow float DEFAULT 0);
INSERT INTO test_flags VALUES (0);
"""


@job(name="worker_test_flaky")
async def flaky(ctx: dict[str, Any], outbox_id: int) -> None:
    pool = pool_of(ctx)
    await pool.execute("INSERT INTO test_runs (outbox_id, attempt) VALUES ($1, $2)", outbox_id, ctx["attempt"])
    flags = await pool.fetchrow("SELECT fail_until, permanent, slow FROM test_flags")
    if flags["slow"]:
        await asyncio.sleep(flags["slow"])
    if ctx["attempt"] <= flags["fail_until"]:
        if flags["permanent"]:
            raise PermanentJobError("deze opdracht kan nooit slagen")
        raise RuntimeError(f"poging {ctx['attempt']} mislukt")


@job(name="worker_test_deferring")
async def deferring(ctx: dict[str, Any], outbox_id: int) -> None:
    """Waits for an outside service: deferred while test_flags.fail_until is above the number of runs so far."""
    pool = pool_of(ctx)
    runs = await pool.fetchval(
        "INSERT INTO test_runs (outbox_id, attempt) VALUES ($1, $2) RETURNING (SELECT count(*) + 1 FROM test_runs)",
        outbox_id,
        ctx["attempt"],
    )
    if runs <= await pool.fetchval("SELECT fail_until FROM test_flags"):
        raise JobDeferred("de mailserver antwoordt niet", delay=0.01)


@job(name="worker_test_mail")
async def mail_job(ctx: dict[str, Any], outbox_id: int) -> None:
    event = await load_event(ctx, outbox_id)
    await ctx["pool"].execute("INSERT INTO test_runs (outbox_id, attempt) VALUES ($1, $2)", outbox_id, ctx["attempt"])
    slow = await ctx["pool"].fetchval("SELECT slow FROM test_flags")
    if slow:
        await asyncio.sleep(slow)
    sender = settings_of(ctx).mail_from

    def build(message_id: str) -> EmailMessage:
        return build_message(
            sender=sender, to="a@gemeente.nl", subject=f"Bericht {outbox_id}", text="x", message_id=message_id
        )

    await send_once(ctx, Mail(key=f"worker-test:{event.id}", kind="test", recipient="a@gemeente.nl", build=build))


@pytest.fixture
async def tables(conn: Connection) -> Connection:
    await conn.execute(TABLES)
    return conn


async def ledger(conn: Connection, job_name: str) -> list[tuple[Any, ...]]:
    rows = await conn.fetch("SELECT status, attempts FROM event_jobs WHERE job = $1 ORDER BY outbox_id", job_name)
    return [tuple(r) for r in rows]


async def test_failures_are_retried_with_growing_backoff(
    tables: Connection, worker_settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(ROUTES, "meeting.published", ("worker_test_flaky",))
    await tables.execute("UPDATE test_flags SET fail_until = 2")
    async with running_workers(worker_settings):
        await emit_published(tables)
        await wait_until(lambda: no_pending_jobs(tables))
    assert await ledger(tables, "worker_test_flaky") == [("done", 3)]
    times = [r["at"] for r in await tables.fetch("SELECT at FROM test_runs ORDER BY at")]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert gaps[0] >= FAST.retry_base
    assert gaps[1] >= 2 * FAST.retry_base, "the second wait is longer"
    assert await tables.fetchval("SELECT count(*) FROM dead_letters") == 0


async def test_a_job_that_keeps_failing_becomes_a_dead_letter_and_can_be_rerun(
    tables: Connection,
    worker_settings: Settings,
    client: Client,
    admin: dict[str, str],
    vng: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setitem(ROUTES, "meeting.published", ("worker_test_flaky",))
    await tables.execute("UPDATE test_flags SET fail_until = 99")
    async with running_workers(worker_settings):
        [outbox_id] = await emit_published(tables)
        await wait_until(lambda: no_pending_jobs(tables))
        assert await ledger(tables, "worker_test_flaky") == [("dead", FAST.max_attempts)]

        assert (await client.get("/api/v1/dead-letters", headers=vng)).status_code == 403
        listed = await client.get("/api/v1/dead-letters", headers=admin)
        assert listed.status_code == 200, listed.text
        [letter] = listed.json()["items"]
        assert letter["job"] == "worker_test_flaky"
        assert letter["outbox_id"] == outbox_id
        assert letter["args"] == {"outbox_id": outbox_id}
        assert letter["attempts"] == FAST.max_attempts
        assert "poging 3 mislukt" in letter["error"]
        assert letter["resolved_at"] is None

        await tables.execute("UPDATE test_flags SET fail_until = 0")
        retried = await client.post(f"/api/v1/dead-letters/{letter['id']}/retry", headers=admin)
        assert retried.status_code == 200, retried.text
        assert retried.json()["resolution"] == "retried"
        await wait_until(lambda: no_pending_jobs(tables))
        assert await ledger(tables, "worker_test_flaky") == [("done", 1)]

        again = await client.post(f"/api/v1/dead-letters/{letter['id']}/retry", headers=admin)
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("application/problem+json")
        assert (await client.get("/api/v1/dead-letters", headers=admin)).json()["items"] == []
        resolved = await client.get("/api/v1/dead-letters", params={"status": "resolved"}, headers=admin)
        assert [d["id"] for d in resolved.json()["items"]] == [letter["id"]]
        assert (await client.post("/api/v1/dead-letters/999999/retry", headers=admin)).status_code == 404


async def test_a_deferred_job_spends_no_attempts_until_its_horizon(
    tables: Connection, worker_settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(ROUTES, "meeting.published", ("worker_test_deferring",))
    deferrals = 3 * FAST.max_attempts
    await tables.execute("UPDATE test_flags SET fail_until = $1", deferrals)
    async with running_workers(worker_settings):
        await emit_published(tables)
        await wait_until(lambda: no_pending_jobs(tables), within=15)
    # Every deferred run gave its attempt back: the run that finally worked is attempt 1.
    assert await ledger(tables, "worker_test_deferring") == [("done", 1)]
    assert await tables.fetchval("SELECT count(*) FROM test_runs") == deferrals + 1
    assert await tables.fetchval("SELECT count(*) FROM dead_letters") == 0


async def test_past_the_horizon_a_deferral_is_a_failed_attempt(
    tables: Connection, worker_settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(ROUTES, "meeting.published", ("worker_test_deferring",))
    await tables.execute("UPDATE test_flags SET fail_until = 99")
    async with running_workers(worker_settings, tuning=msgspec.structs.replace(FAST, defer_horizon=0.0)):
        await emit_published(tables)
        await wait_until(lambda: no_pending_jobs(tables))
    assert await ledger(tables, "worker_test_deferring") == [("dead", FAST.max_attempts)]
    assert "mailserver antwoordt niet" in await tables.fetchval("SELECT error FROM dead_letters")


async def test_a_permanent_error_goes_to_the_dead_letters_at_once(
    tables: Connection, worker_settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(ROUTES, "meeting.published", ("worker_test_flaky",))
    await tables.execute("UPDATE test_flags SET fail_until = 99, permanent = true")
    async with running_workers(worker_settings):
        await emit_published(tables)
        await wait_until(lambda: no_pending_jobs(tables))
    assert await ledger(tables, "worker_test_flaky") == [("dead", 1)]
    assert "kan nooit slagen" in await tables.fetchval("SELECT error FROM dead_letters")


async def test_dead_letters_on_the_command_line(
    tables: Connection,
    worker_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
):
    monkeypatch.setitem(ROUTES, "meeting.published", ("worker_test_flaky",))
    await tables.execute("UPDATE test_flags SET fail_until = 99, permanent = true")
    async with running_workers(worker_settings):
        await emit_published(tables)
        await wait_until(lambda: no_pending_jobs(tables))
        for name, value in {
            "LEERKRING_DATABASE_URL": worker_settings.database_url,
            "LEERKRING_REDIS_URL": worker_settings.redis_url,
            "LEERKRING_SECRET_KEY": "test",
            "LEERKRING_VAR_DIR": str(tmp_path),
        }.items():
            monkeypatch.setenv(name, value or "")
        assert await asyncio.to_thread(cli.main, ["dead-letters", "list"]) == 0
        listing = capsys.readouterr().out
        assert "worker_test_flaky" in listing
        assert "open" in listing
        letter_id = int(listing.split()[0])
        await tables.execute("UPDATE test_flags SET fail_until = 0")
        assert await asyncio.to_thread(cli.main, ["dead-letters", "retry", str(letter_id)]) == 0
        assert "opnieuw uitgevoerd" in capsys.readouterr().out
        await wait_until(lambda: no_pending_jobs(tables))
        assert await ledger(tables, "worker_test_flaky") == [("done", 1)]
        assert await asyncio.to_thread(cli.main, ["dead-letters", "retry", str(letter_id)]) == 1
        assert "al afgehandeld" in capsys.readouterr().out


async def test_flushall_in_the_middle_loses_no_job(
    tables: Connection,
    mail_settings: Settings,
    mail_sink: MailSink,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setitem(ROUTES, "meeting.published", ("worker_test_mail",))
    await tables.execute("UPDATE test_flags SET slow = 0.02")
    redis = Redis.from_url(mail_settings.redis_url or "")
    tuning = msgspec.structs.replace(FAST, max_jobs=4)
    try:
        async with running_workers(mail_settings, tuning=tuning):
            ids = await emit_published(tables, 60)

            async def some_sent() -> bool:
                return len(mail_sink.messages) >= 10

            await wait_until(some_sent)
            await redis.flushall()  # queued jobs, retry counters, in-progress markers: all gone
            await wait_until(lambda: no_pending_jobs(tables), within=15)
    finally:
        await redis.aclose()
    ran = {r["outbox_id"] for r in await tables.fetch("SELECT DISTINCT outbox_id FROM test_runs")}
    assert ran == set(ids)
    subjects = sorted(int(m.message["Subject"].split()[-1]) for m in mail_sink.messages)
    assert subjects == ids, "every mail once, none lost, none twice"


class FlakyMailer:
    """The SMTP server is down for the first `outages` sends."""

    def __init__(self, url: str, outages: int) -> None:
        self.real = Mailer(url)
        self.outages = outages

    async def send(self, message: EmailMessage) -> None:
        if self.outages > 0:
            self.outages -= 1
            raise ServerDown("ConnectionRefusedError: SMTP-server niet bereikbaar")
        await self.real.send(message)

    async def close(self) -> None:
        await self.real.close()


async def test_an_smtp_outage_is_retried_and_the_mail_sent_once(
    tables: Connection, worker_settings: Settings, mail_sink: MailSink, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(ROUTES, "meeting.published", ("worker_test_mail",))
    async with running_workers(worker_settings, mailer=FlakyMailer(mail_sink.url, outages=2)):
        await emit_published(tables)
        await wait_until(lambda: no_pending_jobs(tables))
    assert len(mail_sink.messages) == 1
    delivery = await tables.fetchrow("SELECT status, attempts, last_error FROM deliveries")
    # A server that does not answer is no attempt on the recipient, and the job was deferred, not failed.
    assert (delivery["status"], delivery["attempts"]) == ("sent", 1)
    assert await ledger(tables, "worker_test_mail") == [("done", 1)]


async def test_a_job_cancelled_by_shutdown_runs_again_elsewhere(
    tables: Connection, mail_settings: Settings, mail_sink: MailSink, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(ROUTES, "meeting.published", ("worker_test_flaky",))
    await tables.execute("UPDATE test_flags SET slow = 30")  # the first attempt hangs
    async with running_workers(mail_settings):
        [outbox_id] = await emit_published(tables)
        await wait_until(lambda: tables.fetchval("SELECT count(*) = 1 FROM test_runs"))
    # That worker stopped mid-job; arq put the job back. Another worker finishes it.
    await tables.execute("UPDATE test_flags SET slow = 0")
    async with running_workers(mail_settings):
        await wait_until(lambda: no_pending_jobs(tables))
    assert await ledger(tables, "worker_test_flaky") == [("done", 2)]
    assert [r["outbox_id"] for r in await tables.fetch("SELECT outbox_id FROM test_runs")] == [outbox_id, outbox_id]


class SlowSink(MailSink):
    """An SMTP server that stores each message, then answers its 250 a while later, as a busy relay does."""

    def _store(self, raw: bytes, mail_from: str, rcpt_tos: tuple[str, ...]) -> None:
        super()._store(raw, mail_from, rcpt_tos)
        time.sleep(0.3)  # runs in a thread of the sink's own loop (localdev/mailsink.py)


@job(name="worker_test_block")
async def block_job(ctx: dict[str, Any], outbox_id: int) -> None:
    """Twenty mails claimed together and sent as one shielded block, as an invitation lane sends them."""
    sender = settings_of(ctx).mail_from

    def mail(n: int) -> Mail:
        def build(message_id: str) -> EmailMessage:
            return build_message(sender=sender, to=f"p{n}@gemeente.nl", subject=f"Blok {n}", text="x",
                                 message_id=message_id)  # fmt: skip

        return Mail(key=f"block:{outbox_id}:{n}", kind="test", recipient=f"p{n}@gemeente.nl", build=build)

    mails = [mail(n) for n in range(20)]
    async with pool_of(ctx).acquire() as conn:
        claims = await claim(conn, mails, ctx)
    await send_claimed(ctx, mails, claims)


async def test_a_stop_in_the_middle_of_a_block_sends_no_mail_twice(
    tables: Connection, worker_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A stopping worker lets a block of mails finish the one on the wire and hands the rest back untried; it
    does not let the block run on until its share of the grace period is spent and then cut it off, which can fall
    between the server's 250 and our record of it (the mail is then sent again by the next worker)."""
    monkeypatch.setitem(ROUTES, "meeting.published", ("worker_test_block",))
    # The shutdown's share for sends on the wire (workers/stopping.py) is about 1 s here; the block needs 6.
    tuning = msgspec.structs.replace(FAST, stop_grace=12.0, shutdown_wait=0.5)
    with SlowSink(tmp_path / "sink") as sink:
        async with running_workers(worker_settings, tuning=tuning, mailer=Mailer(sink.url)):
            await emit_published(tables)
            await asyncio.to_thread(sink.wait_for, 2, 30)
        assert len(sink.messages) < 20, "stopped in the middle of the block"
        async with running_workers(worker_settings, mailer=Mailer(sink.url)):
            await wait_until(lambda: no_pending_jobs(tables), within=30)
        received = collections.Counter(m.message["Message-ID"] for m in sink.messages)
    assert len(received) == 20
    assert max(received.values()) == 1, "no mail went out twice"
    assert await tables.fetchval("SELECT count(*) FROM deliveries WHERE status = 'sent'") == 20
