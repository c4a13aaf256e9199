"""One mail's claim (workers/deliveries.claim): the plain INSERT when it claims, the set statement to say how the
delivery stands when it does not. Both must agree on every state a delivery can be in."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import msgspec

from services.db import Connection
from services.settings import Settings
from workers import deliveries
from workers.deliveries import Mail, queries
from workers.testing import FAST


def never_built(message_id: str) -> EmailMessage:
    raise AssertionError("a claim builds no message")


def mail(key: str) -> Mail:
    return Mail(key=key, kind="test", recipient="a@gemeente.example.nl", build=never_built)


def ctx_of(settings: Settings, worker_id: int, lease: float = 600.0) -> dict[str, Any]:
    return {"settings": settings, "tuning": msgspec.structs.replace(FAST, delivery_lease=lease), "worker_id": worker_id}


async def test_a_single_mail_is_claimed_once_and_then_reports_how_it_stands(conn: Connection, settings: Settings):
    first, second = ctx_of(settings, 1), ctx_of(settings, 2)
    one = mail("claims:one")

    taken = (await deliveries.claim(conn, [one], first))[one.key]
    assert (taken.mine, taken.attempts) == (True, 1)
    row = await conn.fetchrow("SELECT status, claimed_by, message_id FROM deliveries WHERE id = $1", taken.id)
    assert (row["status"], row["claimed_by"]) == ("claimed", 1)
    assert row["message_id"][0] + row["message_id"][-1] == "<>"

    busy = (await deliveries.claim(conn, [one], second))[one.key]
    assert (busy.mine, busy.status, busy.id) == (False, "claimed", taken.id)

    await queries.release(conn, [taken.id], "421 later", after=300.0, horizon=86_400.0)
    waiting = (await deliveries.claim(conn, [one], second))[one.key]
    assert (waiting.mine, waiting.status, waiting.last_error) == (False, "queued", "421 later")

    await conn.execute("UPDATE deliveries SET not_before = now() - interval '1 second' WHERE id = $1", taken.id)
    again = (await deliveries.claim(conn, [one], second))[one.key]
    assert (again.mine, again.attempts, again.id) == (True, 2, taken.id)

    await queries.mark_sent(conn, taken.id)
    sent = (await deliveries.claim(conn, [one], first))[one.key]
    assert (sent.mine, sent.status, sent.attempts) == (False, "sent", 2)
    assert await conn.fetchval("SELECT count(*) FROM deliveries WHERE key = $1", one.key) == 1


async def test_a_claim_whose_lease_lapsed_is_taken_over_and_a_failed_one_never(conn: Connection, settings: Settings):
    one, other = mail("claims:lapsed"), mail("claims:failed")
    held = (await deliveries.claim(conn, [one], ctx_of(settings, 1)))[one.key]
    await conn.execute("UPDATE deliveries SET claimed_at = now() - interval '11 minutes' WHERE id = $1", held.id)
    taken_over = (await deliveries.claim(conn, [one], ctx_of(settings, 2)))[one.key]
    assert (taken_over.mine, taken_over.attempts) == (True, 2)
    assert await conn.fetchval("SELECT claimed_by FROM deliveries WHERE id = $1", held.id) == 2

    failing = (await deliveries.claim(conn, [other], ctx_of(settings, 1)))[other.key]
    await queries.mark_failed(conn, failing.id, "bounced", "550 no such user")
    failed = (await deliveries.claim(conn, [other], ctx_of(settings, 2)))[other.key]
    assert (failed.mine, failed.status, failed.failure) == (False, "failed", "bounced")
