"""Evaluations, walked like a person: the meeting ends, the attendees (and only they) get a link, the form opens on
the link with no sign-in, a second submit is refused, nudges reach only those who have not answered, results show
from three answers on, and the database alone cannot pair an answer with a person. Real PostgreSQL, Redis, SMTP
and workers; the sweep takes `now`, so "two hours after the end" and "three days later" need no waiting."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from localdev.mailsink import MailSink, ReceivedMail
from services.app import create_app
from services.db import Connection
from services.evaluations.mailing import sweep
from services.settings import Settings
from tests.api import published, register
from tests.conftest import Keys
from tests.csrf import like_a_browser
from tests.integration.invitation_helpers import mails
from tests.integration.test_participant_journey import link, to
from workers.testing import no_pending_jobs, running_workers, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]
BASE = "https://leerkring.test"
GOOD = {"cijfer": "8", "bruikbaar": "4", "toepassen": "Vaker doorvragen", "delen": "ja", "aanraden": "ja"}


@pytest.fixture
async def browser(mail_settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(mail_settings), base_url=BASE) as client:
        yield like_a_browser(client, mail_settings.secret_key)


async def settled(conn: Connection) -> None:
    # The test client blocks this loop (and the in-process workers) during a request; see test_reminders.py.
    await wait_until(lambda: no_pending_jobs(conn), within=20)


async def run_sweep(conn: Connection, now: datetime) -> int:
    async with conn.transaction():
        return await sweep(conn, now=now)


def asked(received: list[ReceivedMail]) -> list[ReceivedMail]:
    return [m for m in received if str(m.message["Subject"]).startswith(("Hoe was het?", "Nog even:"))]


async def a_meeting_that_was_attended(
    browser: Client, vng: dict[str, str], conn: Connection, people: int, attended: int, **fields: Any
) -> tuple[dict[str, Any], datetime]:
    """A meeting starting in ten minutes (so attendance can be recorded now), `people` registered, the first
    `attended` marked present and the rest absent."""
    start = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    end = start + timedelta(hours=2)
    meeting = await published(
        browser, vng, capacity=20, starts_at=start.isoformat(), ends_at=end.isoformat(), reminders=[], **fields
    )
    ids = []
    for n in range(1, people + 1):
        await settled(conn)
        response = await register(browser, meeting["id"], n, **vng)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    records = [
        {"registration_id": rid, "status": "attended" if i < attended else "no_show"} for i, rid in enumerate(ids)
    ]
    await settled(conn)
    marked = await browser.post(f"/api/v1/meetings/{meeting['id']}/attendance", json={"records": records}, headers=vng)
    assert marked.status_code == 200, marked.text
    return meeting, end


async def test_attendees_get_the_form_answer_once_nudges_stop_and_results_show_from_three(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink, keys: Keys
) -> None:
    async with running_workers(mail_settings):
        meeting, end = await a_meeting_that_was_attended(browser, vng, conn, people=4, attended=3)
        mid = meeting["id"]
        await mails(mail_sink, 4)  # the confirmations
        assert await run_sweep(conn, end + timedelta(hours=1)) == 0, "not yet: two hours after the end"
        opened = end + timedelta(hours=2, minutes=1)
        assert await run_sweep(conn, opened) == 3
        received = await mails(mail_sink, 7)
        requests = asked(received)
        assert sorted(r for m in requests for r in m.rcpt_tos) == [
            "deelnemer1@gemeente.example.nl",
            "deelnemer2@gemeente.example.nl",
            "deelnemer3@gemeente.example.nl",
        ], "only those marked attended, not the one who was absent"
        await settled(conn)
        before = (await browser.get(f"/api/v1/meetings/{mid}/evaluation", headers=vng)).json()
        assert (before["invited"], before["responded"], before["shown"], before["questions"]) == (3, 0, False, [])

        first = to(requests, "deelnemer1@gemeente.example.nl")[0]
        form_url = link(first, "/evaluatie/")
        assert "?" not in form_url
        assert "deelnemer" not in form_url, "no address in the link"
        shown = await browser.get(form_url)
        assert shown.status_code == 200
        assert "Welk rapportcijfer" in shown.text
        assert 'name="viewport"' in shown.text
        missing = await browser.post(form_url, data={"toepassen": "iets"})
        assert missing.status_code == 422
        assert 'href="#veld-cijfer"' in missing.text
        assert "iets" in missing.text, "what was typed stays in the form"
        out_of_range = await browser.post(form_url, data={**GOOD, "cijfer": "11"})
        assert out_of_range.status_code == 422
        assert "van 1 tot en met 10" in out_of_range.text
        too_long = await browser.post(form_url, data={**GOOD, "beter": "x" * 1600})
        assert too_long.status_code == 422
        assert await conn.fetchval("SELECT count(*) FROM evaluation_responses") == 0, "nothing half-stored"
        done = await browser.post(form_url, data=GOOD)
        assert done.status_code == 200, done.text
        assert "Bedankt" in done.text
        again = await browser.post(form_url, data=GOOD)
        assert again.status_code == 409
        assert "al ingestuurd" in again.text
        assert (await browser.get(form_url)).status_code == 409

        one = (await browser.get(f"/api/v1/meetings/{mid}/evaluation", headers=vng)).json()
        assert (one["responded"], one["shown"], one["questions"]) == (1, False, [])

        # Three days on, only the two who have not answered are nudged, once (nudges: 1).
        assert await run_sweep(conn, opened + timedelta(days=3)) == 2
        nudges = [m for m in asked(await mails(mail_sink, 9)) if str(m.message["Subject"]).startswith("Nog even:")]
        assert sorted(r for m in nudges for r in m.rcpt_tos) == [
            "deelnemer2@gemeente.example.nl",
            "deelnemer3@gemeente.example.nl",
        ]
        hostile = '=HYPERLINK("http://kwaad.example","klik")<script>alert(1)</script>'
        for mail, text in zip(nudges, (hostile, "Meer tijd voor casussen"), strict=True):
            await settled(conn)
            sent = await browser.post(link(mail, "/evaluatie/"), data={**GOOD, "cijfer": "6", "beter": text})
            assert sent.status_code == 200, sent.text
        assert await run_sweep(conn, opened + timedelta(days=6)) == 0, "no second nudge, and none after answering"
        await settled(conn)
        results = await browser.get(f"/api/v1/meetings/{mid}/evaluation", headers=vng)
    body = results.json()
    assert (body["invited"], body["responded"], body["response_rate"], body["shown"]) == (3, 3, 1.0, True)
    by_key = {q["key"]: q for q in body["questions"]}
    assert by_key["cijfer"]["average"] == pytest.approx(6.67, abs=0.01)
    assert by_key["cijfer"]["distribution"]["6"] == 2
    assert by_key["aanraden"]["distribution"] == {"ja": 3, "misschien": 0, "nee": 0}
    assert by_key["beter"]["answers"] == sorted([hostile, "Meer tijd voor casussen"]), "stored as given"
    assert by_key["delen"]["distribution"] == {"ja": 3, "nee": 0}
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE type = 'evaluation.submitted'") == 0
    # One mailing per meeting and round, sent in lanes by one job, not an event per person.
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE type = 'evaluation.mailing_due'") == 2
    assert await conn.fetchval("SELECT count(*) FROM evaluation_requests WHERE mail_round IS NOT NULL") == 0

    exported = await browser.get(f"/api/v1/meetings/{mid}/evaluation.csv", headers=vng)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    cells = [cell for row in csv.reader(io.StringIO(exported.text), delimiter=";") for cell in row]
    assert "'" + hostile in cells, "a formula is made plain text"
    assert not [c for c in cells if c.startswith("=")]
    funder = await keys.headers("funder", "AOF")
    aggregates = (await browser.get(f"/api/v1/meetings/{mid}/evaluation", headers=funder)).json()
    assert aggregates["responded"] == 3
    assert all(q["answers"] == [] for q in aggregates["questions"]), "funders see figures, not open answers"
    other = await keys.headers("funder", "BZK")
    assert (await browser.get(f"/api/v1/meetings/{mid}/evaluation", headers=other)).status_code == 404


async def test_the_database_alone_cannot_join_an_answer_to_a_person(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    async with running_workers(mail_settings):
        meeting, end = await a_meeting_that_was_attended(browser, vng, conn, people=3, attended=3)
        await mails(mail_sink, 3)
        assert await run_sweep(conn, end + timedelta(hours=3)) == 3
        requests = asked(await mails(mail_sink, 6))
        for grade, mail in zip(("4", "7", "9"), requests, strict=True):
            await settled(conn)
            sent = await browser.post(link(mail, "/evaluatie/"), data={**GOOD, "cijfer": grade})
            assert sent.status_code == 200, sent.text
    mid = UUID(meeting["id"])
    # What the answers table holds: no person, no time, no sequence.
    columns = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'evaluation_responses'"
    )
    assert {c["column_name"]: c["data_type"] for c in columns} == {
        "id": "uuid",
        "meeting_id": "uuid",
        "answers": "jsonb",
    }
    ledger = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'evaluation_requests'"
    )
    assert not [c for c in ledger if "time" in c["data_type"] or c["data_type"] == "date"] or {
        c["column_name"] for c in ledger if "time" in c["data_type"]
    } == {"next_at"}, "the ledger's only time is when the next mail is due, not when anyone answered"
    assert await conn.fetchval("SELECT count(*) FROM evaluation_requests WHERE answered AND next_at IS NOT NULL") == 0

    # Try to pair them anyway: by ids, by PostgreSQL's row versions (xmin), by the order the answers were given.
    by_id = await conn.fetchval(
        "SELECT count(*) FROM evaluation_responses a JOIN evaluation_requests r ON r.id = a.id WHERE a.meeting_id = $1",
        mid,
    )
    assert by_id == 0
    pairs = await conn.fetch(
        "SELECT r.participant_id, a.answers->>'cijfer' AS grade FROM evaluation_responses a "
        "JOIN evaluation_requests r ON r.xmin = a.xmin AND r.meeting_id = a.meeting_id "
        "WHERE a.meeting_id = $1 AND r.answered",
        mid,
    )
    grades_per_person: dict[Any, set[str]] = {}
    for p in pairs:
        grades_per_person.setdefault(p["participant_id"], set()).add(p["grade"])
    assert all(g == {"4", "7", "9"} for g in grades_per_person.values()), "xmin pairs every answer with everyone"
    versions = await conn.fetchval(
        "SELECT count(DISTINCT xmin::text) FROM evaluation_responses WHERE meeting_id = $1", mid
    )
    assert versions == 1
    ordered = await conn.fetch("SELECT answers->>'cijfer' AS grade FROM evaluation_responses ORDER BY id")
    assert sorted(r["grade"] for r in ordered) == ["4", "7", "9"]


async def test_the_physical_order_of_the_answers_is_not_the_order_they_were_given(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    # Eight answers, given in a known order; after each one the answers are put back in a random order. The chance
    # that a random order of eight is the given one is 1 in 40,320.
    async with running_workers(mail_settings):
        _, end = await a_meeting_that_was_attended(browser, vng, conn, people=8, attended=8)
        await mails(mail_sink, 8)
        assert await run_sweep(conn, end + timedelta(hours=3)) == 8
        requests = asked(await mails(mail_sink, 16))
        given = [str(n) for n in range(1, 9)]
        for grade, mail in zip(given, requests, strict=True):
            await settled(conn)
            sent = await browser.post(link(mail, "/evaluatie/"), data={**GOOD, "cijfer": grade})
            assert sent.status_code == 200, sent.text
    stored = [
        r["g"] for r in await conn.fetch("SELECT answers->>'cijfer' AS g FROM evaluation_responses ORDER BY ctid")
    ]
    assert sorted(stored, key=int) == given
    assert stored != given, "the table's physical order tells the order of answering"
    assert stored != given[::-1]
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE type LIKE 'evaluation.submitted'") == 0


async def test_a_closed_form_says_so_and_bad_settings_are_refused(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    async with running_workers(mail_settings):
        meeting, end = await a_meeting_that_was_attended(browser, vng, conn, people=1, attended=1)
        await mails(mail_sink, 1)
        assert await run_sweep(conn, end + timedelta(hours=3)) == 1
        (request,) = asked(await mails(mail_sink, 2))
        await settled(conn)
    await conn.execute("UPDATE evaluations SET closes_at = now() - interval '1 second'")
    url = link(request, "/evaluatie/")
    assert (await browser.get(url)).status_code == 410
    closed = await browser.post(url, data=GOOD)
    assert closed.status_code == 410
    assert "gesloten" in closed.text
    assert await conn.fetchval("SELECT count(*) FROM evaluation_responses") == 0
    assert (await browser.get(url[:-3] + "abc")).status_code == 404

    mid = meeting["id"]
    draft = await browser.post(
        "/api/v1/meetings", json={**_body(), "evaluation": {"send_after": "PT1H", "nudges": 2}}, headers=vng
    )
    assert draft.status_code == 201, draft.text
    assert draft.json()["evaluation"] == {
        "send_after": "PT1H",
        "closes_after": "P14D",
        "nudges": 2,
        "nudge_after": "P3D",
    }
    for settings, field in (
        ({"nudges": 3}, "evaluation.nudges"),
        ({"closes_after": "P100D"}, "evaluation.closes_after"),
        ({"closes_after": "P2D", "nudge_after": "P3D"}, "evaluation.nudge_after"),
        ({"send_after": "soon"}, "evaluation.send_after"),
    ):
        refused = await browser.patch(
            f"/api/v1/meetings/{draft.json()['id']}", json={"evaluation": settings}, headers=vng
        )
        assert refused.status_code == 422, refused.text
        assert field in [e["field"] for e in refused.json()["errors"]], refused.text
    assert (await browser.get(f"/api/v1/meetings/{mid}/evaluation")).status_code == 401


def _body() -> dict[str, Any]:
    from tests.factories import meeting_body

    return meeting_body()
