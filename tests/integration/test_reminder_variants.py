"""The reminder's variants, walked from the mails: "Kom je nog?" for someone who registered long before the reminder
(one click yes, and the next reminder is plain again), an updated REQUEST inside a reminder only when the calendar
they hold is behind the meeting, and an alarm in the personal feed chosen on the manage page. Real PostgreSQL,
Redis, SMTP and workers; the reminder sweep takes `now`."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

import icalendar
import msgspec

from localdev.mailsink import MailSink
from services.db import Connection
from services.settings import Settings
from tests.api import published, register
from tests.integration.invitation_helpers import mails
from tests.integration.test_participant_journey import link, press, subjects, text_of, to
from tests.integration.test_reminders import Client, browser, count_rows, fire, rows, settled, times
from tests.invitation_checks import parse_imip
from workers.testing import running_workers, wait_until

__all__ = ["browser"]  # the fixture, used by name
ME = "deelnemer1@gemeente.example.nl"


def parts(raw: bytes) -> list[str]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return [p.get_content_type() for p in message.walk() if not p.is_multipart()]


async def test_kom_je_nog_with_an_updated_request_then_a_plain_reminder(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    # The update mail waits (debounced) long enough that the reminder goes out first.
    settings = msgspec.structs.replace(mail_settings, update_mail_debounce=600, update_mail_max_delay=600)
    start = (datetime.now(UTC) + timedelta(days=60)).replace(hour=12, minute=0, second=0, microsecond=0)
    rules = [{"before": "P7D", "at": "09:00", "ask_after": "P30D"}, {"before": "P1D", "at": "09:00"}]
    meeting = await published(browser, vng, capacity=5, reminders=rules, **times(start))
    assert meeting["reminders"][0]["ask_after"] == "P30D"
    async with running_workers(settings):
        assert (await register(browser, meeting["id"], 1, **vng)).status_code == 201
        (confirmation,) = await mails(mail_sink, 1)
        assert parse_imip(confirmation.raw, method="REQUEST", to=ME).sequence == 0
        await wait_until(count_rows(conn, meeting["id"], 2), within=20)
        (_, _, week, _), (_, _, day, _) = await rows(conn, meeting["id"])
        await settled(conn)
        moved = await browser.patch(
            f"/api/v1/meetings/{meeting['id']}",
            json={"venue": {"name": "Provinciehuis", "address": "Kneuterdijk 1", "city": "Den Haag"}},
            headers=vng,
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["sequence"] == 1
        await settled(conn)
        shown = (await browser.get(f"/api/v1/meetings/{meeting['id']}", headers=vng)).json()
        assert shown["pending_update"] is not None, "the update mail waits (debounced)"

        assert await fire(conn, week) == 1
        received = await mails(mail_sink, 2)
        asked = to(received, ME)[1]
        assert subjects([asked]) == [f"Kom je nog? {meeting['title']}"]
        assert "een tijd geleden" in text_of(asked)
        assert "veranderd sinds je laatste bericht" in text_of(asked)
        update = parse_imip(asked.raw, method="REQUEST", to=ME)
        assert (update.sequence, update.partstat) == (1, "ACCEPTED"), "their calendar catches up in the reminder"
        assert b"Provinciehuis" in update.ics

        await settled(conn)
        yes = await press(browser, link(asked, "/ik-kom/"))
        assert yes.status_code == 200, yes.text
        assert "Fijn dat je komt" in yes.text
        assert await conn.fetchval("SELECT reconfirmed_at IS NOT NULL FROM registrations") is True
        forged = await browser.get(link(asked, "/ik-kom/")[:-4] + "AAAA")
        assert forged.status_code == 404

        assert await fire(conn, day) == 1
        last = to(await mails(mail_sink, 3), ME)[2]
    assert subjects([last]) == [f"Herinnering: {meeting['title']}"], "no rule asks again the day before"
    assert parts(last.raw) == ["text/plain", "text/html"], "their calendar is current: no calendar part"
    assert "veranderd" not in text_of(last)
    kinds = await conn.fetch("SELECT kind, sequence FROM deliveries WHERE kind LIKE 'reminder%' ORDER BY id")
    assert [(k["kind"], k["sequence"]) for k in kinds] == [("reminder_update", 1), ("reminder", 1)]


async def test_a_plain_reminder_for_someone_who_registered_recently(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    start = (datetime.now(UTC) + timedelta(days=10)).replace(hour=12, minute=0, second=0, microsecond=0)
    rules = [{"before": "P7D", "at": "09:00", "ask_after": "P30D"}]
    meeting = await published(browser, vng, capacity=5, reminders=rules, **times(start))
    async with running_workers(mail_settings):
        # The test client runs a request on this loop, blocking the in-process workers: let them finish the
        # publishing jobs first, or the request may wait for a lock a blocked worker holds (as test_reminders does).
        await settled(conn)
        assert (await register(browser, meeting["id"], 1, **vng)).status_code == 201
        await wait_until(count_rows(conn, meeting["id"], 1), within=20)
        ((_, _, week, _),) = await rows(conn, meeting["id"])
        # The sweep skips rows a sync still holds (FOR UPDATE SKIP LOCKED): fire once the workers are idle.
        await settled(conn)
        assert await fire(conn, week) == 1
        # The mail after the confirmation, whichever the sink stored first.
        received = to(await mails(mail_sink, 2), ME)
        reminder = next(m for m in received if not str(m.message["Subject"]).startswith("Inschrijving bevestigd"))
    assert subjects([reminder]) == [f"Herinnering: {meeting['title']}"], "registered three days before: no question"
    assert "/ik-kom/" not in text_of(reminder)
    assert parts(reminder.raw) == ["text/plain", "text/html"]


async def test_an_alarm_in_the_personal_feed_chosen_on_the_manage_page(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published(browser, vng, capacity=5)
    async with running_workers(mail_settings):
        assert (await register(browser, meeting["id"], 1, **vng)).status_code == 201
        (confirmation,) = await mails(mail_sink, 1)
        await settled(conn)
    feed_url = link(confirmation, "/feeds/p/")
    before = await browser.get(feed_url)
    assert before.status_code == 200
    assert b"BEGIN:VALARM" not in before.content
    page = await browser.get(link(confirmation, "/mijn?token="))
    assert page.status_code == 200
    assert "Waarschuwing vooraf in je agenda" in page.text
    refused = await browser.post("/mijn/agenda-herinnering", data={"minuten": "7"})
    assert refused.status_code == 422
    assert "Kies een van de mogelijkheden" in refused.text
    saved = await browser.post("/mijn/agenda-herinnering", data={"minuten": "60"})
    assert saved.status_code == 200, saved.text
    assert "een uur" in saved.text
    after = await browser.get(feed_url)
    body = after.content.decode()
    assert body.count("BEGIN:VALARM") == 1
    event = body[body.index("BEGIN:VEVENT") : body.index("END:VEVENT")]
    assert "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Herinnering\r\nTRIGGER:-PT60M\r\nEND:VALARM\r\n" in event
    assert after.headers["etag"] != before.headers["etag"], "calendars must not keep the old copy"
    again = await browser.get(feed_url, headers={"If-None-Match": after.headers["etag"]})
    assert again.status_code == 304
    parsed = icalendar.Calendar.from_ical(after.content)
    (vevent,) = list(parsed.walk("VEVENT"))
    (alarm,) = vevent.walk("VALARM")
    assert alarm["TRIGGER"].dt == -timedelta(hours=1)
    off = await browser.post("/mijn/agenda-herinnering", data={"minuten": ""})
    assert off.status_code == 200
    assert b"VALARM" not in (await browser.get(feed_url)).content
    assert await conn.fetchval("SELECT feed_alarm_minutes FROM participants") is None
