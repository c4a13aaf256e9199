"""A worker process killed (SIGKILL) in the middle of publishing a circle round: nothing of its transaction stays,
another worker publishes the round, and every member gets each session's invitation exactly once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from uuid import UUID

from litestar.testing import AsyncTestClient

from localdev.mailsink import MailSink
from services.app import create_app
from services.db import Connection, connect
from services.settings import Settings
from tests.integration.invitation_helpers import mails
from tests.integration.test_circles import TITLE, circle_mails, round_body, signup, towns, until_state
from tests.integration.worker_helpers import ROOT, worker_env
from tests.invitation_checks import parse_imip
from workers.testing import running_workers, wait_until

# `leerkring worker`, as a process of its own.
WORKER = """
from services.settings import load_settings
from workers.runner import run_worker
run_worker(load_settings(dotenv=None))
"""


async def waiting_on_lock(conn: Connection) -> bool:
    found = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
        "AND query LIKE 'INSERT INTO circle_series%'"
    )
    return bool(found)


async def test_a_worker_killed_mid_publish_leaves_nothing_and_the_next_publishes_once(
    conn: Connection, mail_settings: Settings, mail_sink: MailSink, vng: dict[str, str], tmp_path: Path
) -> None:
    async with AsyncTestClient(app=create_app(mail_settings), base_url="https://leerkring.test") as client:
        meeting_id, _ = await signup(client, vng, await towns(conn, 14))
        asked = await client.post("/api/v1/circle-rounds", json=round_body(signup_meeting_id=meeting_id), headers=vng)
        round_id = asked.json()["id"]
        async with running_workers(mail_settings):
            await until_state(client, conn, round_id, "proposed", vng)
        assert (await client.post(f"{asked.headers['Location']}/publish", headers=vng)).status_code == 202

        # Hold the publishing job halfway: its series are written, its first circle_series row waits for this lock.
        blocker = await connect(mail_settings.database_url or "")
        lock = blocker.transaction()
        await lock.start()
        await blocker.execute("LOCK TABLE circle_series IN EXCLUSIVE MODE")
        with (tmp_path / "worker.log").open("ab") as out:
            process = subprocess.Popen(  # noqa: ASYNC220 - started once, waited for below in a thread
                [sys.executable, "-c", WORKER],
                cwd=ROOT,
                env=worker_env(mail_settings, tmp_path),
                stdout=out,
                stderr=out,
            )
        try:
            await wait_until(lambda: waiting_on_lock(conn), within=60)
            process.send_signal(signal.SIGKILL)
            assert await asyncio.to_thread(process.wait, 10) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
            await lock.rollback()
            await blocker.close()

        async def orphan_gone() -> bool:
            return (
                not await waiting_on_lock(conn)
                and await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
                    "AND query LIKE 'INSERT INTO circle_series%'"
                )
                == 0
            )

        await wait_until(orphan_gone, within=30)
        assert await conn.fetchval("SELECT count(*) FROM series") == 0, "the killed transaction left nothing"
        assert await conn.fetchval("SELECT state FROM circle_rounds WHERE id = $1", UUID(round_id)) == "publishing"

        async with running_workers(mail_settings):
            done = await until_state(client, conn, round_id, "published", vng)
            received = circle_mails(await mails(mail_sink, 14 + 14 * 2, within=90))
    assert len(done["circles"]) == 2
    assert await conn.fetchval("SELECT count(*) FROM series") == 2
    sessions = Counter(
        (m.rcpt_tos[0], parse_imip(m.message, method="REQUEST").uid)  # type: ignore[arg-type]
        for m in received
        if TITLE in str(m.message["Subject"])
    )
    assert len(sessions) == 14 * 2, "every member, every session"
    assert set(sessions.values()) == {1}, "and each exactly once"
