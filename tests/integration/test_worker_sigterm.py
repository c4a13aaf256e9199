"""`leerkring worker` stopped with SIGTERM in the middle of an invitation fan-out, 50 times in a row, as a
rolling deploy does it: the next process starts while the previous one still sends, then the old one gets SIGTERM.

Every process must exit with status 0 within the grace period it was given (a process manager would SIGKILL
it after that), hand back what it claimed, and leave no mail sent twice or sent without being recorded.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from localdev.mailsink import MailSink
from services.db import Connection
from services.settings import Settings
from tests.integration.invitation_helpers import Client, add_participants, invite, published_meeting
from tests.integration.worker_helpers import worker_env

REPETITIONS = 50
GRACE = 30.0  # LEERKRING_WORKER_STOP_GRACE for these processes (production: 60 s, deploy/); its share for sends
# on the wire (workers/stopping.py) must let a block finish on a loaded machine, or a cancelled send may go twice
SMTP_DELAY = 0.02  # seconds the sink takes per message, so a fan-out lasts through all repetitions


class SlowSink(MailSink):
    """An SMTP server that answers DATA after SMTP_DELAY: sending takes time, as it does with a real relay."""

    def _store(self, raw: bytes, mail_from: str, rcpt_tos: tuple[str, ...]) -> None:
        time.sleep(SMTP_DELAY)  # runs in a thread of the sink's own loop (localdev/mailsink.py)
        super()._store(raw, mail_from, rcpt_tos)


def start_worker(settings: Settings, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = worker_env(settings, tmp_path) | {
        "LEERKRING_BASE_URL": settings.base_url,
        "LEERKRING_WORKER_STOP_GRACE": str(GRACE),
        "LEERKRING_WORKER_SHUTDOWN_WAIT": "1",
        # One SMTP connection and one sending lane: a stop finds one block of mails on the wire.
        "LEERKRING_WORKER_MAX_JOBS": "1",
        "LEERKRING_WORKER_DB_POOL_MAX": "2",
    }
    cli = Path(sys.executable).with_name("leerkring")
    with (tmp_path / "workers.log").open("ab") as out:
        return subprocess.Popen([str(cli), "worker"], env=env, stdout=out, stderr=out)


@pytest.mark.slow
# 50 process starts: about 2 minutes on a quiet machine, over 5 on one that runs other suites beside it.
@pytest.mark.timeout(900)
async def test_sigterm_during_a_fanout_stops_cleanly_and_in_time_every_time(
    client: Client, vng: dict[str, str], conn: Connection, worker_settings: Settings, tmp_path: Path
) -> None:
    with SlowSink(tmp_path / "sink") as sink:
        settings = msgspec.structs.replace(worker_settings, smtp_url=sink.url)
        meeting = await published_meeting(client, vng)
        await add_participants(conn, 8_000)  # more than 50 short runs can send
        await invite(client, vng, meeting["id"], groups=["wmo-consulent"])
        codes: list[int | None] = []
        current: subprocess.Popen[bytes] | None = start_worker(settings, tmp_path)
        try:
            for n in range(REPETITIONS):
                assert current is not None
                before = len(sink.messages)
                # Only `current` runs now: a new message means it has taken the fan-out over and is sending.
                await asyncio.to_thread(sink.wait_for, before + 1, 60)
                following = start_worker(settings, tmp_path) if n + 1 < REPETITIONS else None
                current.send_signal(signal.SIGTERM)
                try:
                    codes.append(await asyncio.to_thread(current.wait, GRACE))
                except subprocess.TimeoutExpired:
                    codes.append(None)  # a process manager would SIGKILL it here
                    current.kill()
                    await asyncio.to_thread(current.wait)
                current = following
        finally:
            if current is not None:
                current.kill()
                await asyncio.to_thread(current.wait)
    assert codes == [0] * REPETITIONS, "every stop exits 0 within the grace period (None: it did not)"
    received = Counter(m.message["Message-ID"] for m in sink.messages)
    recorded = {r["message_id"] for r in await conn.fetch("SELECT message_id FROM deliveries WHERE status = 'sent'")}
    assert max(received.values()) == 1, "no mail went out twice"
    assert set(received) == recorded, "every mail sent is recorded as sent, and only those"
    stopped = await conn.fetch("SELECT id, crashed FROM worker_processes WHERE stopped_at IS NOT NULL ORDER BY id")
    assert [r["crashed"] for r in stopped] == [False] * REPETITIONS, "each stopped itself, none was recovered"
    held = await conn.fetchval(
        "SELECT count(*) FROM deliveries WHERE status = 'claimed' AND claimed_by = ANY($1::integer[])",
        [r["id"] for r in stopped],
    )
    assert held == 0
