"""Questionnaire templates, walked: an organiser writes a questionnaire, attaches it to a series, the series' meeting is
evaluated with it (the mail's link opens those questions, a multiple-choice question takes several ticks), and the
results count them. Bad templates are refused naming the field. Real PostgreSQL, Redis, SMTP and workers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from localdev.mailsink import MailSink
from services.db import Connection
from services.settings import Settings
from tests.conftest import Keys
from tests.integration.invitation_helpers import mails
from tests.integration.test_evaluations import Client, a_meeting_that_was_attended, asked, browser, run_sweep, settled
from tests.integration.test_participant_journey import link
from workers.testing import running_workers

__all__ = ["browser"]  # the fixture, used by name

TEMPLATE: dict[str, Any] = {
    "name": "Intervisie kort",
    "questions": [
        {"key": "cijfer", "kind": "grade", "text": "Welk cijfer geef je?", "required": True},
        {
            "key": "werkvormen",
            "kind": "choices",
            "text": "Welke werkvormen hielpen je?",
            "required": True,
            "options": [
                {"value": "casus", "label": "Casus inbrengen"},
                {"value": "rollenspel", "label": "Rollenspel"},
                {"value": "reflectie", "label": "Reflectie in tweetallen"},
            ],
        },
        {"key": "rust", "kind": "scale", "text": "Was er genoeg tijd?", "low": "veel te weinig", "high": "ruim"},
        {"key": "leerpunt", "kind": "text", "text": "Wat is je belangrijkste leerpunt?", "required": True},
    ],
}


async def test_a_series_questionnaire_is_asked_and_its_multiple_choice_counted(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    created = await browser.post("/api/v1/questionnaires", json=TEMPLATE, headers=vng)
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["organiser_code"] == "VNG"
    listed = (await browser.get("/api/v1/questionnaires", headers=vng)).json()
    assert [q["id"] for q in listed] == [None, template["id"]], "the default first, then the body's own"
    assert "wat ga je toepassen in je werk?" in [q["text"].lower() for q in listed[0]["questions"]]
    series = await browser.post(
        "/api/v1/series", json={"title": "Intervisiereeks", "questionnaire_id": template["id"]}, headers=vng
    )
    assert series.status_code == 201, series.text
    assert series.json()["questionnaire_id"] == template["id"]

    async with running_workers(mail_settings):
        meeting, end = await a_meeting_that_was_attended(
            browser, vng, conn, people=3, attended=3, series_id=series.json()["id"]
        )
        assert meeting["questionnaire_id"] is None, "none of its own: the series' applies"
        await mails(mail_sink, 3)
        assert await run_sweep(conn, end + timedelta(hours=3)) == 3
        requests = asked(await mails(mail_sink, 6))
        # The template changes after the evaluation opened: the form keeps asking what it opened with.
        await conn.execute("UPDATE questionnaires SET questions = '[]'::jsonb")
        first = link(requests[0], "/evaluatie/")
        await settled(conn)
        shown = await browser.get(first)
        assert shown.status_code == 200
        assert "Welke werkvormen hielpen je?" in shown.text
        assert 'type="checkbox"' in shown.text
        assert "Welk rapportcijfer" not in shown.text, "not the default questionnaire"
        missing = await browser.post(first, data={"cijfer": "8", "leerpunt": "Doorvragen"})
        assert missing.status_code == 422
        assert 'href="#veld-werkvormen"' in missing.text
        foreign = await browser.post(first, data={"cijfer": "8", "leerpunt": "x", "werkvormen": ["casus", "onzin"]})
        assert foreign.status_code == 422
        assert await conn.fetchval("SELECT count(*) FROM evaluation_responses") == 0
        ticks = (["casus", "rollenspel"], ["casus"], ["casus", "reflectie"])
        for mail, picked in zip(requests, ticks, strict=True):
            await settled(conn)
            sent = await browser.post(
                link(mail, "/evaluatie/"), data={"cijfer": "7", "werkvormen": picked, "leerpunt": "Stilte laten vallen"}
            )
            assert sent.status_code == 200, sent.text
        await settled(conn)
        results = (await browser.get(f"/api/v1/meetings/{meeting['id']}/evaluation", headers=vng)).json()
    by_key = {q["key"]: q for q in results["questions"]}
    assert list(by_key) == ["cijfer", "werkvormen", "rust", "leerpunt"]
    assert by_key["werkvormen"]["distribution"] == {"casus": 3, "rollenspel": 1, "reflectie": 1}
    assert by_key["werkvormen"]["answered"] == 3
    assert by_key["rust"]["answered"] == 0
    assert by_key["leerpunt"]["answers"] == ["Stilte laten vallen"] * 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"questions": []}, "questions"),
        ({"questions": [{"key": "a", "kind": "grade", "text": "x"}, {"key": "a", "kind": "text", "text": "y"}]},
         "questions[1].key"),
        ({"questions": [{"key": "k", "kind": "choice", "text": "Welke?", "options": [{"value": "a", "label": "A"}]}]},
         "questions[0].options"),
        ({"questions": [{"key": "k", "kind": "text", "text": "Wat?", "options": [{"value": "a", "label": "A"}]}]},
         "questions[0].options"),
        ({"questions": [{"key": "k", "kind": "slider", "text": "Hoe?"}]}, "questions[0].kind"),
        ({"questions": [{"key": "Hoofd letter", "kind": "grade", "text": "Hoe?"}]}, "questions[0].key"),
        ({"questions": [{"key": "k", "kind": "consent", "text": "Mag het?", "required": True}]},
         "questions[0].required"),
        ({"questions": [{"key": "k", "kind": "grade", "text": "Cijfer?", "low": "slecht"}]}, "questions[0].low"),
        ({"name": ""}, "name"),
        ({"organiser_code": "BZK"}, "organiser_code"),
    ],
)  # fmt: skip
async def test_a_bad_template_is_refused_naming_the_field(
    browser: Client, vng: dict[str, str], conn: Connection, change: dict[str, Any], field: str
) -> None:
    refused = await browser.post("/api/v1/questionnaires", json={**TEMPLATE, **change}, headers=vng)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in refused.json()["errors"]], refused.text
    assert await conn.fetchval("SELECT count(*) FROM questionnaires") == 0


async def test_another_bodys_template_cannot_be_attached_or_read(
    browser: Client, vng: dict[str, str], keys: Keys
) -> None:
    bzk = await keys.headers("organiser", "BZK")
    theirs = await browser.post("/api/v1/questionnaires", json=TEMPLATE, headers=bzk)
    assert theirs.status_code == 201, theirs.text
    qid = theirs.json()["id"]
    assert (await browser.get(f"/api/v1/questionnaires/{qid}", headers=vng)).status_code == 404
    from tests.factories import meeting_body

    meeting = await browser.post("/api/v1/meetings", json=meeting_body(questionnaire_id=qid), headers=vng)
    assert meeting.status_code == 422, meeting.text
    assert "questionnaire_id" in [e["field"] for e in meeting.json()["errors"]]
    series = await browser.post("/api/v1/series", json={"title": "Reeks", "questionnaire_id": qid}, headers=vng)
    assert series.status_code == 422
    assert series.json()["errors"][0]["field"] == "questionnaire_id"
    mine = await browser.post("/api/v1/questionnaires", json=TEMPLATE, headers=vng)
    draft = await browser.post("/api/v1/meetings", json=meeting_body(), headers=vng)
    patched = await browser.patch(
        f"/api/v1/meetings/{draft.json()['id']}", json={"questionnaire_id": mine.json()["id"]}, headers=vng
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["questionnaire_id"] == mine.json()["id"]
    default = await browser.get("/api/v1/questionnaires/standaard", headers=vng)
    assert default.status_code == 200
    assert default.json()["questions"][0]["kind"] == "grade"
