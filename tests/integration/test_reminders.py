"""Reminders, walked like a person with real PostgreSQL, Redis, SMTP and workers, and a clock the test moves:
the sweep (services/reminders/service.py fire_due) takes `now`, so a reminder a week ahead fires without waiting,
and the mail that follows arrives in the sink through the same outbox, jobs and deliveries as in production."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from localdev.mailsink import MailSink, ReceivedMail
from services.app import create_app
from services.db import Connection
from services.reminders.queries import apply
from services.reminders.service import fire_due, plan
from services.settings import Settings
from tests.api import published, register
from tests.csrf import like_a_browser
from tests.integration.invitation_helpers import mails
from tests.integration.test_participant_journey import link, press, subjects, text_of, to
from workers.testing import no_pending_jobs, running_workers, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]
BASE = "https://leerkring.test"
AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
async def browser(mail_settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(mail_settings), base_url=BASE) as client:
        yield like_a_browser(client, mail_settings.secret_key)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


def times(start: datetime, hours: int = 3) -> dict[str, str]:
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat()}


async def rows(conn: Connection, meeting_id: str) -> list[tuple[str, str, datetime, str]]:
    found = await conn.fetch(
        "SELECT p.email, x.rule, x.due_at, x.status FROM reminders x JOIN registrations r ON r.id = x.registration_id "
        "JOIN participants p ON p.id = r.participant_id WHERE x.meeting_id = $1 ORDER BY p.email, x.due_at",
        UUID(meeting_id),
    )
    return [(r["email"].split("@")[0], r["rule"], r["due_at"], r["status"]) for r in found]


def count_rows(conn: Connection, meeting_id: str, expected: int, status: str = "pending") -> Any:
    async def check() -> bool:
        return sum(1 for *_, s in await rows(conn, meeting_id) if s == status) == expected

    return check


async def settled(conn: Connection) -> None:
    """Wait until the workers have nothing in hand. The test client runs the app on a portal and blocks this event
    loop (and so the in-process workers) while a request runs: a request that needs a row lock a worker's open
    transaction holds would wait for a worker that cannot move. Separate processes in production never do."""
    await wait_until(lambda: no_pending_jobs(conn), within=20)


async def fire(conn: Connection, now: datetime) -> int:
    """One sweep at `now`, committed (the workers then carry reminder.due on)."""
    async with conn.transaction():
        return await fire_due(conn, now=now)


def reminders_in(received: list[ReceivedMail]) -> list[ReceivedMail]:
    return [m for m in received if str(m.message["Subject"]).startswith("Herinnering:")]


async def reminder_deliveries(conn: Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM deliveries WHERE kind = 'reminder' AND status = 'sent'"))


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(local("2027-03-29T13:30:00"), id="spring-forward-on-sunday-28-march"),
        pytest.param(local("2027-11-01T13:30:00"), id="fall-back-on-sunday-31-october"),
    ],
)
async def test_each_reminder_fires_once_at_nine_local_across_the_dst_change(
    browser: Client,
    vng: dict[str, str],
    conn: Connection,
    mail_settings: Settings,
    mail_sink: MailSink,
    start: datetime,
) -> None:
    meeting = await published(browser, vng, capacity=5, **times(start))
    assert meeting["reminders"] == [
        {"before": "P7D", "at": "09:00", "ask_after": None},
        {"before": "P1D", "at": "09:00", "ask_after": None},
    ]
    assert meeting["reminders_from"] == "default"
    async with running_workers(mail_settings):
        assert (await register(browser, meeting["id"], 1, **vng)).status_code == 201
        await wait_until(count_rows(conn, meeting["id"], 2), within=20)
        (week, day) = [due for _, _, due, _ in await rows(conn, meeting["id"])]
        assert [d.astimezone(AMS).strftime("%a %d %H:%M") for d in (week, day)] == [
            (start - timedelta(days=7)).strftime("%a %d 09:00"),
            (start - timedelta(days=1)).strftime("%a %d 09:00"),
        ]
        # The offsets differ: one side of the change is CET, the other CEST.
        assert week.astimezone(AMS).utcoffset() != day.astimezone(AMS).utcoffset()

        # Both syncs (publish, confirm) done: a sync still holding the rows makes the sweep skip them (SKIP LOCKED).
        await settled(conn)
        assert await fire(conn, week - timedelta(seconds=1)) == 0
        assert await fire(conn, week) == 1
        first = reminders_in(await mails(mail_sink, 2))  # the confirmation, then the reminder
        assert len(first) == 1
        assert await fire(conn, week + timedelta(hours=1)) == 0, "fired once"
        assert await fire(conn, day - timedelta(seconds=1)) == 0
        assert await fire(conn, day + timedelta(seconds=30)) == 1
        second = reminders_in(await mails(mail_sink, 3))
        assert await fire(conn, start - timedelta(minutes=1)) == 0
    assert len(second) == 2
    assert await reminder_deliveries(conn) == 2
    assert [s for *_, s in await rows(conn, meeting["id"])] == ["fired", "fired"]
    mail = second[1]
    assert mail.rcpt_tos == ("deelnemer1@gemeente.example.nl",)
    assert str(mail.message["Subject"]) == f"Herinnering: {meeting['title']}"
    body = text_of(mail)
    assert "13:30" in body, "the meeting's time as it is now"
    assert "Stadhuis" in body
    assert f"{BASE}/inchecken/{meeting['id']}" in body
    for path in ("/mijn?token=", "/ik-kan-niet/", "/herinneringen-uit/"):
        assert BASE + path in body
    # Every link in the mail opens a page (and opening one changes nothing: the place and the reminders stay).
    urls = sorted({u.rstrip(".,)") for u in re.findall(r"https://leerkring\.test/\S+", body)})
    assert len(urls) >= 7
    for url in urls:
        opened = await browser.get(url, follow_redirects=True)
        assert opened.status_code == 200, (url, opened.status_code)
    assert await conn.fetchval("SELECT count(*) FROM registrations WHERE status = 'confirmed'") == 1
    assert await conn.fetchval("SELECT count(*) FROM participants WHERE reminders_off") == 0


async def test_reminders_move_with_the_meeting_and_vanish_when_it_is_cancelled(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    start = local("2027-06-15T13:30:00")
    meeting = await published(browser, vng, capacity=5, **times(start))
    mid = meeting["id"]
    async with running_workers(mail_settings):
        for n in (1, 2):
            await settled(conn)
            assert (await register(browser, mid, n, **vng)).status_code == 201
        await wait_until(count_rows(conn, mid, 4), within=20)
        old_week = min(due for _, _, due, _ in await rows(conn, mid))

        later = start + timedelta(days=7)
        await settled(conn)
        moved = await browser.patch(f"/api/v1/meetings/{mid}", json=times(later), headers=vng)
        assert moved.status_code == 200, moved.text

        async def retimed() -> bool:
            return {due for _, _, due, _ in await rows(conn, mid)} == {
                local("2027-06-15T09:00:00").astimezone(UTC),
                local("2027-06-21T09:00:00").astimezone(UTC),
            }

        await wait_until(retimed, within=20)
        assert await fire(conn, old_week + timedelta(minutes=1)) == 0, "nothing is due at the old moment"

        # One person cancels: their reminders go; then the meeting is cancelled: all go.
        reg = await conn.fetchval(
            "SELECT r.id FROM registrations r JOIN participants p ON p.id = r.participant_id "
            "WHERE p.email = 'deelnemer2@gemeente.example.nl'"
        )
        await settled(conn)
        cancelled = await browser.post(f"/api/v1/registrations/{reg}/cancel", headers=vng)
        assert cancelled.status_code == 200, cancelled.text
        await wait_until(count_rows(conn, mid, 2, "cancelled"), within=20)
        await settled(conn)
        assert (await browser.post(f"/api/v1/meetings/{mid}/cancel", headers=vng)).status_code == 200
        await wait_until(count_rows(conn, mid, 4, "cancelled"), within=20)
        assert await fire(conn, later) == 0
    assert await reminder_deliveries(conn) == 0


async def test_reminders_live_in_postgresql_and_survive_a_redis_flush(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    start = local("2027-05-10T10:00:00")
    meeting = await published(browser, vng, capacity=5, **times(start))
    async with running_workers(mail_settings):
        assert (await register(browser, meeting["id"], 1, **vng)).status_code == 201
        await wait_until(count_rows(conn, meeting["id"], 2), within=20)
        await mails(mail_sink, 1)  # the confirmation
    redis = Redis.from_url(mail_settings.redis_url or "")
    await redis.flushall()
    await redis.aclose()
    async with running_workers(mail_settings):
        assert await fire(conn, local("2027-05-03T09:00:00")) == 1
        received = await mails(mail_sink, 2)
    assert subjects(reminders_in(received)) == [f"Herinnering: {meeting['title']}"]


async def test_a_moment_already_past_at_registration_is_skipped_and_one_missed_in_downtime_is_recorded(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    # Starts in three days: "a week before" has passed already, "the day before" has not.
    soon = (datetime.now(AMS) + timedelta(days=3)).replace(hour=13, minute=30, second=0, microsecond=0)
    first = await published(browser, vng, capacity=5, **times(soon))
    second = await published(browser, vng, capacity=5, **times(soon + timedelta(hours=4)))
    async with running_workers(mail_settings):
        for meeting in (first, second):
            await settled(conn)
            assert (await register(browser, meeting["id"], 1, **vng)).status_code == 201
            await wait_until(count_rows(conn, meeting["id"], 1), within=20)
            assert [(rule, status) for _, rule, _, status in await rows(conn, meeting["id"])] == [
                ("P7D@09:00", "skipped"),
                ("P1D@09:00", "pending"),
            ]
        # The workers were down over the day-before moment. Coming back at 12:00 the day before: still useful,
        # so sent late. Coming back after the second meeting's start: recorded as missed, not sent.
        day_before = (soon - timedelta(days=1)).replace(hour=12)
        assert await fire(conn, day_before) == 2  # both meetings' day-before reminders (09:00) are due
        received = reminders_in(await mails(mail_sink, 4))
    assert len(received) == 2
    assert await reminder_deliveries(conn) == 2


async def test_a_reminder_missed_while_down_is_not_sent_after_the_start(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    start = local("2027-04-20T13:30:00")
    meeting = await published(browser, vng, capacity=5, **times(start))
    async with running_workers(mail_settings):
        assert (await register(browser, meeting["id"], 1, **vng)).status_code == 201
        await wait_until(count_rows(conn, meeting["id"], 2), within=20)
    assert await fire(conn, start + timedelta(minutes=5)) == 2
    assert [status for *_, status in await rows(conn, meeting["id"])] == ["missed", "missed"]
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE type = 'reminder.due'") == 0


async def test_ik_kan_toch_niet_from_the_reminder_frees_the_seat_for_the_next_in_line(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    start = local("2027-09-14T13:30:00")
    meeting = await published(browser, vng, capacity=1, **times(start))
    async with running_workers(mail_settings):
        assert (await register(browser, meeting["id"], 1, **vng)).status_code == 201
        await settled(conn)
        assert (await register(browser, meeting["id"], 2, **vng)).status_code == 201  # waiting list
        await wait_until(count_rows(conn, meeting["id"], 2), within=20)
        await mails(mail_sink, 2)  # confirmation and waiting-list mail
        assert await fire(conn, local("2027-09-07T09:00:00")) == 1
        (reminder,) = reminders_in(await mails(mail_sink, 3))
        assert reminder.rcpt_tos == ("deelnemer1@gemeente.example.nl",)

        await settled(conn)
        done = await press(browser, link(reminder, "/ik-kan-niet/"))
        assert done.status_code == 200, done.text
        assert "Je bent afgemeld" in done.text
        received = await mails(mail_sink, 5)
        promoted = to(received, "deelnemer2@gemeente.example.nl")[-1]
        assert str(promoted.message["Subject"]).startswith("Er is een plek vrij")
        # The one who moved up gets reminders of their own; the one who left has none left.
        await wait_until(count_rows(conn, meeting["id"], 2, "pending"), within=20)
        again = await browser.get(link(reminder, "/ik-kan-niet/"))
        assert "al afgemeld" in again.text
    assert [(who, s) for who, _, _, s in await rows(conn, meeting["id"])] == [
        ("deelnemer1", "fired"),
        ("deelnemer1", "cancelled"),
        ("deelnemer2", "pending"),
        ("deelnemer2", "pending"),
    ]
    tampered = await browser.get(link(reminder, "/ik-kan-niet/")[:-4] + "AAAA")
    assert tampered.status_code == 404


async def test_opting_out_from_the_mail_without_signing_in_and_back_in_on_the_manage_page(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    first = await published(browser, vng, capacity=5, **times(local("2027-09-14T13:30:00")))
    second = await published(browser, vng, capacity=5, **times(local("2027-10-12T13:30:00")))
    async with running_workers(mail_settings):
        for meeting in (first, second):
            await settled(conn)
            assert (await register(browser, meeting["id"], 1, **vng)).status_code == 201
            await wait_until(count_rows(conn, meeting["id"], 2), within=20)
        assert await fire(conn, local("2027-09-07T09:00:00")) == 1
        (reminder,) = reminders_in(await mails(mail_sink, 3))

        await settled(conn)
        this_one = await press(browser, link(reminder, "/herinneringen-uit/").replace("/alle/", "/deze/"))
        assert "geen herinneringen meer voor deze bijeenkomst" in this_one.text
        assert [s for *_, s in await rows(conn, first["id"])] == ["fired", "cancelled"]
        assert [s for *_, s in await rows(conn, second["id"])] == ["pending", "pending"]
        alle = [u for u in text_of(reminder).split() if "/herinneringen-uit/" in u and "/alle/" in u]
        await settled(conn)
        everything = await press(browser, alle[0])
        assert "voor geen enkele bijeenkomst" in everything.text
        assert [s for *_, s in await rows(conn, second["id"])] == ["cancelled", "cancelled"]

        # The manage link from the same mail opens my page, where reminders can be switched on again.
        page = await browser.get(link(reminder, "/mijn?token="))
        assert page.status_code == 200
        assert "Je krijgt geen herinneringen" in page.text
        await settled(conn)
        back = await browser.post("/mijn/herinneringen", data={"bereik": "alle", "aan": "ja"})
        assert back.status_code == 200, back.text
        assert "Je krijgt weer herinneringen" in back.text
        assert [s for *_, s in await rows(conn, second["id"])] == ["pending", "pending"]
        assert [s for *_, s in await rows(conn, first["id"])] == ["fired", "cancelled"], "this meeting stays off"
        assert await fire(conn, local("2027-10-11T09:00:00")) == 2  # the week before and the day before
        assert len(reminders_in(await mails(mail_sink, 5))) == 3


async def test_rules_per_meeting_and_series_are_readable_and_bad_ones_are_refused(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings
) -> None:
    series = await browser.post(
        "/api/v1/series", json={"title": "Intervisiereeks", "reminders": [{"before": "P2D"}]}, headers=vng
    )
    assert series.status_code == 201, series.text
    assert series.json()["reminders"] == [{"before": "P2D", "at": None, "ask_after": None}]
    start = local("2027-06-15T13:30:00")
    in_series = await published(browser, vng, series_id=series.json()["id"], **times(start))
    assert (in_series["reminders"], in_series["reminders_from"]) == (
        [{"before": "P2D", "at": None, "ask_after": None}],
        "series",
    )

    mid = in_series["id"]
    async with running_workers(mail_settings):
        assert (await register(browser, mid, 1, **vng)).status_code == 201
        await wait_until(count_rows(conn, mid, 1), within=20)
        await settled(conn)
        changed = await browser.patch(
            f"/api/v1/meetings/{mid}",
            json={"reminders": [{"before": "PT2H"}, {"before": "P3D", "at": "17:00"}]},
            headers=vng,
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["reminders_from"] == "meeting"

        async def reruled() -> bool:
            return [(rule, s) for _, rule, _, s in await rows(conn, mid)] == [
                ("P3D@17:00", "pending"),
                ("P2D", "cancelled"),
                ("PT2H", "pending"),
            ]

        await wait_until(reruled, within=20)
    for body, field in (
        ({"reminders": [{"before": "P1M"}]}, "reminders[0].before"),
        ({"reminders": [{"before": "PT0M"}]}, "reminders[0].before"),
        ({"reminders": [{"before": "P1D", "at": "25:00"}]}, "reminders[0].at"),
        ({"reminders": [{"before": "P1D"}, {"before": "P1D"}]}, "reminders[1].before"),
        ({"reminders": [{"before": "P7D", "ask_after": "PT2H"}]}, "reminders[0].ask_after"),
    ):
        refused = await browser.patch(f"/api/v1/meetings/{mid}", json=body, headers=vng)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in refused.json()["errors"]], refused.text
    read = await browser.get(f"/api/v1/meetings/{mid}")
    assert [r["before"] for r in read.json()["reminders"]] == ["PT2H", "P3D"], "nothing half-written"


async def test_a_sync_that_raced_another_still_writes_its_rows_in_one_transaction(
    browser: Client, vng: dict[str, str], conn: Connection
) -> None:
    """New keys go in as a plain INSERT; when a concurrent sync wrote one first (this sync's read saw no row),
    the savepoint rolls back and the upsert writes the plan, and the caller's transaction goes on."""
    meeting = await published(browser, vng, capacity=5, **times(local("2027-05-10T10:00:00")))
    assert (await register(browser, meeting["id"], 1, **vng)).status_code == 201
    rid = await conn.fetchval("SELECT id FROM registrations WHERE meeting_id = $1", UUID(meeting["id"]))
    now = local("2027-04-01T12:00:00")
    first, second = local("2027-05-09T09:00:00"), local("2027-05-09T10:00:00")
    async with conn.transaction():
        await apply(conn, UUID(meeting["id"]), plan({}, {(rid, "P1D@09:00"): first}, now))
        await apply(conn, UUID(meeting["id"]), plan({}, {(rid, "P1D@09:00"): second}, now))  # its read saw none
        assert await conn.fetchval("SELECT count(*) FROM reminders WHERE meeting_id = $1", UUID(meeting["id"])) == 1
    assert [(rule, due, status) for _, rule, due, status in await rows(conn, meeting["id"])] == [
        ("P1D@09:00", second, "pending")
    ]
