"""Crashes for real: worker processes killed with SIGKILL mid-work, then recovered by other workers.

The worker here is a small script around the production entry points (`run_worker`, `build_worker`) that
only adds a test job — the `leerkring worker` command line would run exactly the same code.
"""

from __future__ import annotations

import asyncio
import collections
import signal
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from localdev.mailsink import MailSink
from services.db import Connection
from services.mail.message import build_message
from services.settings import Settings
from tests.integration.worker_helpers import ROOT, worker_env
from workers.context import load_event, settings_of
from workers.deliveries import Mail, send_once
from workers.mailer import Mailer
from workers.registry import job
from workers.settings import load_tuning
from workers.testing import FAST, emit_published, running_workers, wait_until


@job(name="crash_mail")
async def crash_mail(ctx: dict[str, Any], outbox_id: int) -> None:
    """One mail per event, through the exactly-once delivery path."""
    event = await load_event(ctx, outbox_id)
    sender = settings_of(ctx).mail_from

    def build(message_id: str) -> EmailMessage:
        return build_message(
            sender=sender, to="p@gemeente.nl", subject=f"Bericht {outbox_id}", text="x", message_id=message_id
        )

    await send_once(ctx, Mail(key=f"crash:{event.id}", kind="test", recipient="p@gemeente.nl", build=build))


PRELUDE = r"""
import asyncio, os, signal, sys
from typing import Any
from services.settings import load_settings
from workers.mailer import Mailer
from workers.testing import route_only
from tests.integration.test_crash import crash_mail  # registers the job

route_only({"meeting.published": ("crash_mail",)})
settings = load_settings(dotenv=None)
"""

# The production entry point, as `leerkring worker` calls it.
RUN_WORKER = (
    PRELUDE
    + """
from workers.runner import run_worker
run_worker(settings)
"""
)

# A worker whose mailer kills its own process: before the SMTP conversation, or after the server accepted.
SELF_KILLING = (
    PRELUDE
    + """
from workers.runner import build_worker


class KillingMailer:
    def __init__(self, url: str, after_send: bool) -> None:
        self.real, self.after_send = Mailer(url), after_send

    async def send(self, message: Any) -> None:
        if self.after_send:
            await self.real.send(message)
        os.kill(os.getpid(), signal.SIGKILL)

    async def close(self) -> None:
        pass


async def main() -> None:
    mailer = KillingMailer(settings.smtp_url or "", after_send=sys.argv[1] == "after")
    worker = build_worker(settings, mailer=mailer, handle_signals=True)
    await worker.async_run()

asyncio.run(main())
"""
)


def start(
    script: str, settings: Settings, tmp_path: Path, *args: str, log: str = "worker.log"
) -> subprocess.Popen[bytes]:
    with (tmp_path / log).open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", script, *args], cwd=ROOT, env=worker_env(settings, tmp_path), stdout=out, stderr=out
        )


async def running_worker_count(conn: Connection, count: int) -> bool:
    return await conn.fetchval("SELECT count(*) FROM worker_processes WHERE stopped_at IS NULL") >= count  # type: ignore[no-any-return]


async def deliveries(conn: Connection, status: str) -> list[Any]:
    return await conn.fetch("SELECT key, message_id FROM deliveries WHERE status = $1", status)


@pytest.mark.slow
async def test_sigkill_during_a_burst_loses_nothing_and_sends_nothing_twice(
    conn: Connection, mail_settings: Settings, mail_sink: MailSink, tmp_path: Path
):
    first = start(RUN_WORKER, mail_settings, tmp_path)
    second: subprocess.Popen[bytes] | None = None
    try:
        await wait_until(lambda: running_worker_count(conn, 1), within=60)
        await emit_published(conn, 600)

        async def some_sent() -> bool:
            return len(await deliveries(conn, "sent")) >= 150

        await wait_until(some_sent, within=60, interval=0.005)
        first.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(first.wait, 10) == -signal.SIGKILL
        # What the dead worker left mid-send: the only deliveries whose fate PostgreSQL cannot know.
        in_flight = {r["message_id"] for r in await deliveries(conn, "claimed")}
        sent_before = len(await deliveries(conn, "sent"))

        second = start(RUN_WORKER, mail_settings, tmp_path)

        async def all_sent() -> bool:
            return len(await deliveries(conn, "sent")) == 600

        await wait_until(all_sent, within=90)  # a bound for a loaded machine, not a speed requirement
        second.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.wait, 20) == 0, "SIGTERM is a clean stop"
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
    expected = {r["message_id"] for r in await deliveries(conn, "sent")}
    received = collections.Counter(m.message["Message-ID"] for m in mail_sink.messages)
    duplicates = {mid for mid, n in received.items() if n > 1}
    assert set(received) == expected, "nothing lost, nothing unexpected"
    assert duplicates <= in_flight, "a second copy only where the kill fell between SMTP's 250 and our record of it"
    # The bound README.md states: at most one copy too many per mail in flight at the kill, and a worker has at
    # most one mail in flight per running job (max_jobs); the mailer's pool puts fewer still on the wire.
    assert len(duplicates) <= len(in_flight) <= load_tuning(worker_env(mail_settings, tmp_path)).max_jobs
    crashed = await conn.fetchval("SELECT count(*) FROM worker_processes WHERE crashed")
    assert crashed == 1
    # The burst went out in job batches (workers/relay.py), so the kill fell in the middle of some.
    assert await conn.fetchval("SELECT count(*) FILTER (WHERE batch_lead IS NOT NULL) > 300 FROM event_jobs")
    print(  # noqa: T201 - the figures for the report (pytest -s)
        f"\ncrash test: killed after {sent_before}/600 sent, {len(in_flight)} claimed in flight; "
        f"{sum(received.values())} messages received, {len(duplicates)} duplicate(s)"
    )


@pytest.mark.parametrize("moment", ["before", "after"])
async def test_a_worker_killed_after_its_claim_is_recovered(
    conn: Connection,
    mail_settings: Settings,
    mail_sink: MailSink,
    tmp_path: Path,
    moment: str,
):
    """`before`: killed after claiming, before talking SMTP — recovered, sent exactly once.
    `after`: killed after the server accepted, before `mark_sent` — the documented at-least-once window:
    it is sent again, with the same Message-ID."""
    killed = start(SELF_KILLING, mail_settings, tmp_path, moment)
    try:
        await wait_until(lambda: running_worker_count(conn, 1), within=60)
        await emit_published(conn, 1)
        assert await asyncio.to_thread(killed.wait, 60) == -signal.SIGKILL
    finally:
        if killed.poll() is None:
            killed.kill()
    [claimed] = await deliveries(conn, "claimed")
    assert len(mail_sink.messages) == (1 if moment == "after" else 0)

    async with running_workers(mail_settings, tuning=FAST, mailer=Mailer(mail_sink.url)):

        async def sent() -> bool:
            return len(await deliveries(conn, "sent")) == 1

        await wait_until(sent, within=30)
    assert await conn.fetchval("SELECT attempts FROM deliveries") == 2
    assert await conn.fetchval("SELECT crashed FROM worker_processes ORDER BY id LIMIT 1") is True
    message_ids = [m.message["Message-ID"] for m in mail_sink.messages]
    assert message_ids == [claimed["message_id"]] * (2 if moment == "after" else 1)


async def test_a_live_worker_taken_for_dead_registers_anew(conn: Connection, worker_settings: Settings):
    """After an outage (here: its control connection cut and its row marked crashed), a worker must not carry on
    under an id that nobody will ever watch again."""
    async with running_workers(worker_settings) as [worker]:
        control = worker.ctx["control"]
        old = control.worker_id
        await conn.execute("UPDATE worker_processes SET stopped_at = now(), crashed = true WHERE id = $1", old)
        await conn.execute(
            """
            SELECT pg_terminate_backend(l.pid) FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.objid = $1::oid AND l.objsubid = 2
            """,
            old,
        )

        async def registered_anew() -> bool:
            return control.worker_id != old and bool(
                await conn.fetchval("SELECT stopped_at IS NULL FROM worker_processes WHERE id = $1", control.worker_id)
            )

        await wait_until(registered_anew, within=30)
    ids = [r["id"] for r in await conn.fetch("SELECT id FROM worker_processes ORDER BY id")]
    assert ids == [old, control.worker_id]
