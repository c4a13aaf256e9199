"""The registration rush through the real HTTP stack: uvicorn in its own process, 64 connections at once, the way
people without a personal link register: the request (nothing counts yet), then the link from the mail."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any
from uuid import UUID

import httpx
import pytest

from services.db import Connection
from services.participants.links import confirm_token
from services.settings import Settings
from tests import csrf
from tests.conftest import ROOT
from tests.factories import meeting_body, participant_body

SEATS, PEOPLE, CANCELLATIONS = 100, 2000, 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def server(database_url: str, redis_url: str) -> AsyncIterator[str]:
    """`uvicorn services.asgi:create` on a free port, as in production (uvloop, httptools, one worker)."""
    port = free_port()
    env = {
        **os.environ,
        "LEERKRING_DATABASE_URL": database_url,
        "LEERKRING_REDIS_URL": redis_url,
        "LEERKRING_SECRET_KEY": "rush-test",
        "LEERKRING_DB_POOL_MAX": "10",
        "LEERKRING_RATE_LIMIT_SCALE": "0",  # hundreds of people, all from 127.0.0.1
    }
    command = [sys.executable, "-m", "uvicorn", "services.asgi:create", "--factory", "--host", "127.0.0.1"]
    command += [
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        # What `leerkring api` uses (LEERKRING_KEEP_ALIVE_TIMEOUT): with uvicorn's 5 s a pooled client connection
        # idle that long could be closed just as a request went out on it (httpx.ReadError mid-rush).
        "--timeout-keep-alive",
        "75",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: ASYNC220 - starting it does not block
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, "the API process died on start"
                assert time.monotonic() < deadline, "the API did not start within 20 s"
                await asyncio.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.slow
async def test_two_thousand_at_once_for_a_hundred_seats(server: str, vng: dict[str, str], conn: Connection):
    # 64 connections in all. httpx's pool spends CPU per request in proportion to its size and to what is queued
    # in it (2 ms a request at 64 connections, more than the server needs), so: eight pools of eight, queue here.
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=server, limits=limits, timeout=60))
            for _ in range(8)
        ]
        client = clients[0]
        meeting = (await client.post("/api/v1/meetings", json=meeting_body(capacity=SEATS), headers=vng)).json()
        assert (await client.post(f"/api/v1/meetings/{meeting['id']}/publish", headers=vng)).status_code == 200
        url = f"/api/v1/meetings/{meeting['id']}/registrations"
        gate, turn = asyncio.Semaphore(64), itertools.count()

        async def post(path: str, **kwargs: Any) -> httpx.Response:
            async with gate:
                return await clients[next(turn) % len(clients)].post(path, **kwargs)

        meeting_id = UUID(meeting["id"])
        requested = await asyncio.gather(*(post(url, json={"participant": participant_body(n)}) for n in range(PEOPLE)))
        assert {a.status_code for a in requested} == {202}, {a.text for a in requested if a.status_code != 202}
        assert await conn.fetchval("SELECT count(*) FROM registrations") == 0, "nothing counts before the mail link"
        # The links the confirmation mails carry (derived as the mail job derives them), pressed all at once.
        settings = Settings(secret_key="rush-test", base_url=server)
        ids = [
            r["id"] for r in await conn.fetch("SELECT id FROM registration_requests WHERE meeting_id = $1", meeting_id)
        ]
        random.shuffle(ids)
        started = time.monotonic()
        # The button on the confirm page posts the CSRF token the page set (one browser each in real life).
        _token, csrf_headers = csrf.pair(settings.secret_key)
        answers = await asyncio.gather(
            *(post(f"/bevestigen/{confirm_token(settings, i)}", headers=csrf_headers) for i in ids)
        )
        rush_seconds = time.monotonic() - started
        assert {a.status_code for a in answers} == {200}, {a.text for a in answers if a.status_code != 200}
        assert sum("Je bent ingeschreven" in a.text for a in answers) == SEATS
        assert sum("Je staat op de wachtlijst" in a.text for a in answers) == PEOPLE - SEATS

        rows = await conn.fetch("SELECT id, status, position FROM registrations WHERE meeting_id = $1", meeting_id)
        assert sum(r["status"] == "confirmed" for r in rows) == SEATS
        positions = sorted(r["position"] for r in rows if r["status"] == "waitlisted")
        assert positions == list(range(1, PEOPLE - SEATS + 1)), "positions 1..1900, no gaps, no duplicates"
        counters = await conn.fetchrow(
            "SELECT confirmed_count, waitlisted_count, waitlist_seq FROM meetings WHERE id = $1", meeting_id
        )
        assert tuple(counters) == (SEATS, PEOPLE - SEATS, PEOPLE - SEATS)
        # meeting.published, and per person registration.requested and registration.confirmed or .waitlisted
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE aggregate_id = $1", meeting_id) == 2 * PEOPLE + 1

        # 30 seats freed at the same moment go to positions 1..30, one by one, in queue order.
        confirmed = [r["id"] for r in rows if r["status"] == "confirmed"]
        leaving = random.sample(confirmed, CANCELLATIONS)
        cancels = await asyncio.gather(*(post(f"/api/v1/registrations/{rid}/cancel", headers=vng) for rid in leaving))
        assert {c.status_code for c in cancels} == {200}, {c.text for c in cancels if c.status_code != 200}

    after = await conn.fetch(
        "SELECT status, position FROM registrations WHERE meeting_id = $1 AND position IS NOT NULL ORDER BY position",
        meeting_id,
    )
    assert [r["status"] for r in after] == ["confirmed"] * CANCELLATIONS + ["waitlisted"] * (
        PEOPLE - SEATS - CANCELLATIONS
    )
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM registrations WHERE meeting_id = $1 AND status = 'confirmed'", meeting_id
        )
        == SEATS
    )
    promoted = await conn.fetch(
        """
        SELECT r.position FROM outbox o JOIN registrations r ON r.id = (o.payload->>'registration_id')::uuid
        WHERE o.aggregate_id = $1 AND o.type = 'registration.promoted' ORDER BY o.id
        """,
        meeting_id,
    )
    assert [p["position"] for p in promoted] == list(range(1, CANCELLATIONS + 1)), "promoted exactly 30, in order"
    print(f"rush: {PEOPLE} confirmations in {rush_seconds:.2f} s ({PEOPLE / rush_seconds:.0f}/s)")  # noqa: T201
