"""Open evaluation answers past their retention: three attendees answer through the links in their mails, and the
purge, run with a clock months on, clears what they wrote (free text may name people) while every figure stays:
invited, responded, averages, distributions and how many answered each open question."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec

from localdev.mailsink import MailSink
from services.db import Connection
from services.retention.service import purge
from services.settings import Settings
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
from tests.integration.test_participant_journey import link
from workers.testing import running_workers

__all__ = ["browser"]  # the fixture, used by name

WRITTEN = ["Casus van mevrouw Jansen uit de Dorpsstraat", "Vaker doorvragen", "Meer pauzes"]


def without_open_answers(results: dict[str, Any]) -> dict[str, Any]:
    return {**results, "questions": [{**q, "answers": []} for q in results["questions"]]}


async def test_open_answers_go_months_after_closing_and_the_figures_stay(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    async with running_workers(mail_settings):
        meeting, end = await a_meeting_that_was_attended(browser, vng, conn, people=3, attended=3)
        await mails(mail_sink, 3)  # the confirmations
        opened = end + timedelta(hours=2, minutes=1)
        assert await run_sweep(conn, opened) == 3
        for mail, text in zip(asked(await mails(mail_sink, 6)), WRITTEN, strict=True):
            await settled(conn)
            sent = await browser.post(link(mail, "/evaluatie/"), data={**GOOD, "beter": text, "toepassen": text})
            assert sent.status_code == 200, sent.text
        await settled(conn)
    url = f"/api/v1/meetings/{meeting['id']}/evaluation"
    before = (await browser.get(url, headers=vng)).json()
    by_key = {q["key"]: q for q in before["questions"]}
    assert by_key["beter"]["answers"] == sorted(WRITTEN)
    closes = opened + timedelta(days=14)

    longer = msgspec.structs.replace(mail_settings, retention_evaluation_text_months=12)
    assert (await purge(conn, longer, now=closes + timedelta(days=220))).evaluation_answers == 0, "12 months: kept"
    assert (await purge(conn, mail_settings, now=closes + timedelta(days=170))).evaluation_answers == 0, "not yet"
    assert (await browser.get(url, headers=vng)).json() == before

    assert (await purge(conn, mail_settings, now=closes + timedelta(days=190))).evaluation_answers == 3
    after = (await browser.get(url, headers=vng)).json()
    assert after == without_open_answers(before), "every figure the same, the open answers gone"
    assert {q["key"]: q["answered"] for q in after["questions"]}["beter"] == 3, "still counted as answered"
    stored = await conn.fetchval("SELECT string_agg(answers::text, ' ') FROM evaluation_responses")
    assert not [text for text in WRITTEN if text in stored], "nothing of what was written is left in the database"
    assert '"cijfer": 8' in stored
    assert '"delen": true' in stored
    exported = await browser.get(f"{url}.csv", headers=vng)
    assert "Jansen" not in exported.text
    again = await purge(conn, mail_settings, now=closes + timedelta(days=400))
    assert again.evaluation_answers == 0, "each evaluation is cleared once"
