"""Circle sessions in the funder report: counted like any meeting, per circle (its series), once they are held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from services.db import Connection
from services.settings import Settings
from tests.integration.test_circles import TITLE, round_body, signup, towns, until_state
from workers.testing import running_workers

Client = AsyncTestClient  # type: ignore[type-arg]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, report_noise=0)  # exact figures; the noise has its own tests


async def test_the_funder_report_counts_each_circle_as_a_series_of_held_meetings(
    client: Client, vng: dict[str, str], keys: Any, conn: Connection, worker_settings: Settings
) -> None:
    meeting_id, _ = await signup(client, vng, await towns(conn, 12))
    asked = await client.post("/api/v1/circle-rounds", json=round_body(signup_meeting_id=meeting_id), headers=vng)
    round_id = asked.json()["id"]
    async with running_workers(worker_settings):
        await until_state(client, conn, round_id, "proposed", vng)
        await client.post(f"/api/v1/circle-rounds/{round_id}/publish", headers=vng)
        done = await until_state(client, conn, round_id, "published", vng)
    # Let the sessions have happened: a report counts meetings once they are over.
    series = [UUID(c["series_id"]) for c in done["circles"]]
    await conn.execute(
        "UPDATE meetings SET starts_at = starts_at - interval '120 days', ends_at = ends_at - interval '120 days', "
        "registration_closes_at = NULL WHERE series_id = ANY($1)",
        series,
    )
    first = await conn.fetchval("SELECT min(starts_at) FROM meetings WHERE series_id = ANY($1)", series)
    period = {"from": (first - timedelta(days=1)).date().isoformat(), "to": datetime.now(UTC).date().isoformat()}
    aof = await keys.headers("funder", "AOF")
    answer = await client.get("/api/v1/reports/attendance", params={**period, "groupBy": "series"}, headers=aof)
    assert answer.status_code == 200, answer.text
    rows = {r["dimensions"]["series"]: r for r in answer.json()["rows"]}
    assert set(rows) == {str(s) for s in series}, "one row per circle, nothing else held in the period"
    for circle in done["circles"]:
        row = rows[circle["series_id"]]
        assert row["labels"]["series"] == f"{TITLE} – kring {circle['number']}"
        # Two sessions, six members registered for each; reach (unique participants) counts attendance, none here.
        assert (row["meetings_held"], row["registrations"], row["seats_offered"]) == (2, 12, 2 * 10)
