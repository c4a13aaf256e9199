"""A funder subscribes to the monthly report; when the month is over the workbook arrives by mail, once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from localdev.mailsink import MailSink
from services.app import create_app
from services.db import Connection
from services.settings import Settings
from tests.report_seed import attend, meeting, register
from tests.xlsx import read_xlsx
from workers.testing import no_pending_jobs, running_workers, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]
URL = "/api/v1/reports/subscriptions"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def api(mail_settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(mail_settings)) as client:
        yield client


async def test_the_monthly_report_is_mailed_once_per_month(
    api: Client, keys: Any, conn: Connection, mail_settings: Settings, mail_sink: MailSink
):
    aof = await keys.headers("funder", "AOF")
    november = await meeting(conn, "November", "2026-11-10T10:00:00+01:00", 3)
    for i in range(7):
        who = await conn.fetchval(
            "INSERT INTO participants (email, name, organisation_code) VALUES ($1, $2, 'GM0518') RETURNING id",
            f"nov{i}@example.nl", f"Novemberdeelnemer {i}",
        )  # fmt: skip
        await attend(conn, november, who, registration=await register(conn, november, who))

    created = await api.post(
        URL, json={"email": "Rapport@AOF.example.nl", "frequency": "month", "group_by": ["municipality"]}, headers=aof
    )
    assert created.status_code == 201, created.text
    sub = created.json()
    assert (sub["funder_code"], sub["email"], sub["group_by"]) == ("AOF", "rapport@aof.example.nl", ["municipality"])
    task = await conn.fetchrow("SELECT id, due_at, payload FROM scheduled_tasks WHERE aggregate_id = $1", sub["id"])
    first = datetime.fromisoformat(sub["next_period_from"])
    assert task["payload"]["period_from"] == sub["next_period_from"]
    assert task["due_at"] > datetime.now(UTC), "mailed when the current month is over"
    assert task["due_at"].astimezone(UTC).day == 1
    assert first.day == 1

    # The clock moves on: this task is now the one for November 2026, and November is over.
    await conn.execute(
        "UPDATE scheduled_tasks SET dedupe_key = '2026-11-01', payload = $2::jsonb,"
        " due_at = now() - interval '1 minute' WHERE id = $1",
        task["id"], json.dumps({"period_from": "2026-11-01", "period_to": "2026-11-30"}),
    )  # fmt: skip
    async with running_workers(mail_settings):
        await wait_until(lambda: _reports_in(mail_sink, 1), within=30)
        await wait_until(lambda: no_pending_jobs(conn), within=20)
        # The same period once more (a task run twice, an event delivered twice): no second mail.
        await conn.execute("UPDATE scheduled_tasks SET status = 'pending', due_at = now() WHERE id = $1", task["id"])
        await wait_until(
            lambda: _count(conn, "SELECT count(*) FROM outbox WHERE type = 'report.mail_due'", 2), within=20
        )
        await wait_until(lambda: no_pending_jobs(conn), within=20)
    # (the attendees get their own mails, such as the evaluation request: only the report's address counts here)
    (mail,) = _reports(mail_sink)
    assert mail.rcpt_tos == ("rapport@aof.example.nl",)
    assert "november 2026" in str(mail.message["Subject"])
    (attachment,) = [p for p in mail.message.iter_attachments() if p.get_content_type() == XLSX]
    assert attachment.get_filename() == "leerkring-aanwezigheid-2026-11-01-2026-11-30.xlsx"
    book = read_xlsx(attachment.get_content())
    rows = book.sheets["Rapport"].rows
    assert rows[0][:2] == ["Gemeente", "Gemeente (code)"]
    assert rows[1][1] == "GM0518"
    assert abs(rows[1][5] - 7) <= 2, "seven came (the figure carries the report's noise)"
    assert rows[-1][0] == "Totaal"
    assert "Novemberdeelnemer" not in book.text

    # December is next, once
    pending = await conn.fetch(
        "SELECT dedupe_key, due_at FROM scheduled_tasks WHERE aggregate_id = $1 AND status = 'pending'", sub["id"]
    )
    assert [r["dedupe_key"] for r in pending] == ["2026-12-01"]
    assert pending[0]["due_at"] == datetime(2027, 1, 1, 5, 0, tzinfo=UTC)


def _reports(sink: MailSink) -> list[Any]:
    return [m for m in sink.messages if m.rcpt_tos == ("rapport@aof.example.nl",)]


async def _reports_in(sink: MailSink, count: int) -> bool:
    return len(_reports(sink)) >= count


async def _count(conn: Connection, sql: str, want: int) -> bool:
    return bool(await conn.fetchval(sql) == want)


async def test_subscriptions_are_the_funders_own(api: Client, keys: Any, conn: Connection):
    aof = await keys.headers("funder", "AOF")
    bzk = await keys.headers("funder", "BZK")
    sub = (await api.post(URL, json={"email": "a@aof.example.nl"}, headers=aof)).json()
    assert [s["id"] for s in (await api.get(URL, headers=aof)).json()] == [sub["id"]]
    assert (await api.get(URL, headers=bzk)).json() == []
    assert (await api.delete(f"{URL}/{sub['id']}", headers=bzk)).status_code == 404
    other = await api.post(URL, json={"email": "a@aof.example.nl", "funder": "AOF"}, headers=bzk)
    assert (other.status_code, other.json()["errors"][0]["field"]) == (403, "funder")
    bad = await api.post(URL, json={"email": "a@aof.example.nl", "group_by": ["postcode"]}, headers=aof)
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "group_by")
    bad = await api.post(URL, json={"email": "geen adres"}, headers=aof)
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "email")
    gone = await api.delete(f"{URL}/{sub['id']}", headers=aof)
    assert gone.status_code == 200
    assert gone.json()["cancelled_at"] is not None
    assert not await conn.fetchval(
        "SELECT count(*) FROM scheduled_tasks WHERE aggregate_id = $1 AND status = 'pending'", sub["id"]
    )
    assert (await api.get(URL, headers=aof)).json() == []
