"""Results over a series and a theme, and XLSX next to CSV: two meetings of one series are evaluated through the
links in the mails; the one with fewer than three answers counts towards invited and responded but not towards the
figures per question, so the aggregate cannot be taken apart into it. Funders get figures, never open answers."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from localdev.mailsink import MailSink
from services.db import Connection
from services.settings import Settings
from tests.conftest import Keys
from tests.integration.invitation_helpers import mails
from tests.integration.test_evaluations import (
    GOOD,
    Client,
    a_meeting_that_was_attended,
    asked,
    browser,
    run_sweep,
    settled,
)
from tests.integration.test_participant_journey import link, text_of
from tests.xlsx import read_xlsx
from workers.testing import running_workers

__all__ = ["browser"]  # the fixture, used by name

HOSTILE = '=HYPERLINK("http://kwaad.example","klik")'


async def test_series_and_theme_results_count_only_meetings_with_three_answers(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink, keys: Keys
) -> None:
    series = await browser.post("/api/v1/series", json={"title": "Reeks vraagverheldering"}, headers=vng)
    sid = series.json()["id"]
    async with running_workers(mail_settings):
        big, end = await a_meeting_that_was_attended(
            browser, vng, conn, people=3, attended=3, series_id=sid, themes=["vraagverheldering"]
        )
        await mails(mail_sink, 3)
        await settled(conn)
        small, _ = await a_meeting_that_was_attended(
            browser, vng, conn, people=2, attended=2, series_id=sid, themes=["vraagverheldering"]
        )
        # a_meeting_that_was_attended numbers people from 1: the second meeting's two are the first meeting's too.
        await mails(mail_sink, 5)
        assert await run_sweep(conn, end + timedelta(hours=3)) == 5
        requests = asked(await mails(mail_sink, 10))
        # The hostile answer goes to the meeting that counts per question (mails leave in any order).
        hostile = next(m for m in requests if f"/bijeenkomsten/{big['id']}" in text_of(m))
        for mail in requests:
            await settled(conn)
            answer = {**GOOD, "cijfer": "9", "beter": HOSTILE if mail is hostile else "Meer pauzes"}
            sent = await browser.post(link(mail, "/evaluatie/"), data=answer)
            assert sent.status_code == 200, sent.text
        await settled(conn)
        one = (await browser.get(f"/api/v1/meetings/{small['id']}/evaluation", headers=vng)).json()
        assert (one["responded"], one["shown"]) == (2, False)
        body = (await browser.get(f"/api/v1/series/{sid}/evaluation", headers=vng)).json()
        theme = (await browser.get("/api/v1/themes/vraagverheldering/evaluation", headers=vng)).json()
        funder = await keys.headers("funder", "AOF")
        funded = (await browser.get(f"/api/v1/series/{sid}/evaluation", headers=funder)).json()
        other = await keys.headers("funder", "BZK")
        unfunded = (await browser.get("/api/v1/themes/vraagverheldering/evaluation", headers=other)).json()
        bzk = await keys.headers("organiser", "BZK")
        foreign = await browser.get(f"/api/v1/series/{sid}/evaluation", headers=bzk)
        exported = await browser.get(f"/api/v1/series/{sid}/evaluation.csv", headers=vng)
        workbook = await browser.get(f"/api/v1/series/{sid}/evaluation.xlsx", headers=vng)
        meeting_book = await browser.get(f"/api/v1/meetings/{big['id']}/evaluation.xlsx", headers=vng)
        unknown = await browser.get("/api/v1/themes/bestaat-niet/evaluation", headers=vng)

    assert (body["meetings"], body["meetings_counted"], body["invited"], body["responded"]) == (2, 1, 5, 5)
    assert body["shown"] is True
    by_key = {q["key"]: q for q in body["questions"]}
    assert by_key["cijfer"]["answered"] == 3, "only the meeting with three answers counts per question"
    assert sum(by_key["cijfer"]["distribution"].values()) == 3
    assert by_key["cijfer"]["average"] == 9.0
    assert len(by_key["beter"]["answers"]) == 3
    assert {k: v for k, v in theme.items() if k not in ("scope", "key", "title")} == {
        k: v for k, v in body.items() if k not in ("scope", "key", "title")
    }, "the theme holds the same two meetings"
    assert theme["title"]
    assert theme["scope"] == "theme"
    assert funded["responded"] == 5
    assert all(q["answers"] == [] for q in funded["questions"]), "funders see figures, not open answers"
    assert (unfunded["meetings"], unfunded["questions"]) == (0, [])
    assert foreign.status_code == 404
    assert unknown.status_code == 404

    cells = [c for row in csv.reader(io.StringIO(exported.text), delimiter=";") for c in row]
    assert "'" + HOSTILE in cells
    assert HOSTILE not in cells
    for response in (workbook, meeting_book):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
        book = read_xlsx(response.content)
        assert list(book.sheets) == ["Uitkomsten", "Open antwoorden", "Toelichting"]
        assert book.formulas == [], "no formula from the answers"
        answers = [c for r in book.sheets["Open antwoorden"].rows for c in r]
        assert HOSTILE in answers, "stored and shown as given, as text"
        rows = book.sheets["Uitkomsten"].rows
        assert book.sheets["Uitkomsten"].frozen_rows == 1
        assert ["uitgenodigd", None, None, 5 if response is workbook else 3] == rows[1][:4]
        grade = "Welk rapportcijfer geef je deze bijeenkomst?"
        averages = [r for r in rows if len(r) > 4 and r[2] == "gemiddelde" and r[0] == grade]
        assert len(averages) == 1
        assert averages[0][4] == 9, "a number, not text"
