"""Evaluation mails sent in lanes from one job per meeting: a killed worker loses nobody and doubles at most one mail
per lane, two jobs on one meeting send each mail once, and the sweep emits one event per meeting, not per person.
Real PostgreSQL, Redis, SMTP and worker processes; the sweep takes `now`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from localdev.mailsink import MailSink
from services.db import Connection
from services.evaluations.mailing import left, sweep
from services.settings import Settings
from tests.integration.invitation_helpers import add_participants, by_recipient, mails
from tests.integration.test_invitations_resilience import WORKER_SCRIPT, SlowMailer, environment
from workers.deliveries.lanes import lanes_for
from workers.jobs.evaluation_mailing import send_marked
from workers.testing import FAST, running_workers, wait_until

log = logging.getLogger(__name__)


async def attended_meeting(conn: Connection, people: int) -> tuple[UUID, list[str], datetime]:
    """A published meeting that ended three hours ago with `people` attendees (seeded in SQL); returns when its
    evaluation is due."""
    ended = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    emails = await add_participants(conn, people, prefix="aanw")
    meeting_id: UUID = await conn.fetchval(
        """
        INSERT INTO meetings (title, format, starts_at, ends_at, capacity, organiser_codes, status, published_at,
                              reminders)
        VALUES ('Intervisie', 'intervisie', $1::timestamptz - interval '2 hours', $1, $2, '{VNG}', 'published', now(),
                '[]')
        RETURNING id
        """,
        ended,
        people,
    )
    await conn.execute(
        """
        WITH r AS (
            INSERT INTO registrations (id, meeting_id, participant_id, status, confirmed_at)
            SELECT gen_random_uuid(), $1, id, 'confirmed', now() FROM participants WHERE email = ANY($2::text[])
            RETURNING id, participant_id
        )
        INSERT INTO attendance (meeting_id, participant_id, registration_id, status, method)
        SELECT $1, participant_id, id, 'attended', 'organiser' FROM r
        """,
        meeting_id,
        emails,
    )
    return meeting_id, emails, ended + timedelta(hours=2, minutes=1)


async def all_unmarked(conn: Connection, meeting_id: UUID) -> bool:
    marked = await conn.fetchval(
        "SELECT count(*) FROM evaluation_requests WHERE meeting_id = $1 AND mail_round IS NOT NULL", meeting_id
    )
    return marked == 0


async def test_the_sweep_emits_one_mailing_per_meeting_and_every_attendee_gets_one_mail(
    conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting_id, emails, due = await attended_meeting(conn, 180)
    async with conn.transaction():
        assert await sweep(conn, now=due, batch=100) == 100
    async with conn.transaction():
        assert await sweep(conn, now=due, batch=100) == 80
    events = await conn.fetch("SELECT payload FROM outbox WHERE type = 'evaluation.mailing_due' ORDER BY id")
    assert [e["payload"]["count"] for e in events] == [100, 80], "one event per meeting and sweep, no person in it"
    async with running_workers(mail_settings):
        await mails(mail_sink, 180, within=60)
        await wait_until(lambda: all_unmarked(conn, meeting_id), within=20)
    per = by_recipient(mail_sink.messages)
    assert sorted(per) == sorted(emails)
    assert {len(v) for v in per.values()} == {1}
    assert all(str(v[0].message["Subject"]).startswith("Hoe was het?") for v in per.values())


async def test_two_jobs_on_one_meeting_send_each_mail_once(
    conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting_id, emails, due = await attended_meeting(conn, 400)
    async with (
        running_workers(mail_settings, count=2, mailer=SlowMailer(mail_sink.url, 0.005)) as workers,
    ):
        async with conn.transaction():
            assert await sweep(conn, now=due) == 400
        # The routed job runs on one worker; the other joins the same meeting (as the next sweep's job would).
        await asyncio.gather(send_marked(workers[0].ctx, meeting_id), send_marked(workers[1].ctx, meeting_id))
        await wait_until(lambda: all_unmarked(conn, meeting_id), within=30)
        ids = {w.ctx["worker_id"] for w in workers}
    per = by_recipient(mail_sink.messages)
    assert sorted(per) == sorted(emails)
    assert {len(v) for v in per.values()} == {1}
    senders = {r["claimed_by"] for r in await conn.fetch("SELECT DISTINCT claimed_by FROM deliveries")}
    assert senders == ids, "both workers sent part of the meeting's mails"


@pytest.mark.slow
async def test_a_killed_worker_loses_no_attendee_and_doubles_at_most_one_mail_per_lane(
    conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting_id, emails, due = await attended_meeting(conn, 240)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER_SCRIPT, env={**os.environ, "PYTHONPATH": os.getcwd(), **environment(mail_settings)}
    )
    try:
        async with conn.transaction():
            assert await sweep(conn, now=due) == 240
        await mails(mail_sink, 60, within=30)
        process.send_signal(signal.SIGKILL)  # no shutdown, no cleanup: claims are left behind
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
    assert not await all_unmarked(conn, meeting_id), "killed halfway"
    async with running_workers(mail_settings):
        await wait_until(lambda: all_unmarked(conn, meeting_id), within=45)
    per = by_recipient(mail_sink.messages)
    assert sorted(per) == sorted(emails), "nobody lost"
    doubles = {a: v for a, v in per.items() if len(v) > 1}
    # A lane has one mail on the wire at a time and marks it before the next, so only the mails the dead process had
    # sent but not yet marked can go twice: at most one per lane (README.md); each copy has the same Message-ID.
    assert len(doubles) <= lanes_for(FAST)
    assert all(len(v) == 2 for v in doubles.values())
    assert all(len({m.message["Message-ID"] for m in v}) == 1 for v in doubles.values())
    log.warning("SIGKILL mid evaluation mailing: %d of %d got a second copy (bound %d)", len(doubles), len(per),
                lanes_for(FAST))  # fmt: skip
    assert await conn.fetchval("SELECT count(*) FROM deliveries WHERE kind = 'evaluation' AND status <> 'sent'") == 0


async def test_someone_erased_while_their_mail_is_marked_does_not_keep_the_lanes_waiting(conn: Connection) -> None:
    meeting_id, _, due = await attended_meeting(conn, 3)
    async with conn.transaction():
        assert await sweep(conn, now=due) == 3
    gone = await conn.fetchval("SELECT participant_id FROM evaluation_requests WHERE meeting_id = $1 LIMIT 1",
                               meeting_id)  # fmt: skip
    await conn.execute("UPDATE participants SET erased_at = now() WHERE id = $1", gone)
    # lock_block never takes that row, so the lanes settle only if it is not counted as still to be mailed.
    assert (await left(conn, meeting_id)).marked == 2
