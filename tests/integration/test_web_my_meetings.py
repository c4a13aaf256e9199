"""/mijn, walked as a person does: sign in by the mailed link, cancel one meeting from the list (a page that says
what the button will do, then the button), and the next in line gets the offer by mail. The language of the mails
is the participant's own choice on the same page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from localdev.mailsink import MailSink, ReceivedMail
from services.app import create_app
from services.db import Connection
from services.participants import tokens
from services.settings import Settings
from services.web import i18n, session
from tests.api import published, register
from tests.csrf import like_a_browser
from tests.integration.test_participant_journey import BASE, link, press, text_of
from workers.testing import running_workers, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]
FIRST, SECOND = "deelnemer1@gemeente.example.nl", "deelnemer2@gemeente.example.nl"


@pytest.fixture
async def browser(mail_settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(mail_settings), base_url=BASE) as client:
        yield like_a_browser(client, mail_settings.secret_key)


async def mail_to(sink: MailSink, address: str, subject: str) -> ReceivedMail:
    """The first mail to `address` whose subject starts with `subject`, once it has come."""

    def found() -> list[ReceivedMail]:
        return [m for m in sink.messages if address in m.rcpt_tos and str(m.message["Subject"]).startswith(subject)]

    async def arrived() -> bool:
        return bool(found())

    await wait_until(arrived, within=20)
    return found()[0]


def profile_form(page: str) -> dict[str, str]:
    """The profile form of /mijn as it stands (name, organisation, group), to post it back with one change."""
    name = re.search(r'id="veld-name"[^>]*value="([^"]*)"', page)
    assert name, page
    return {"name": name.group(1), "organisation_code": "GM0518", "professional_group": "wmo-consulent"}


async def test_cancelling_from_my_meetings_frees_the_seat_for_the_next_in_line(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published(browser, vng, title="Wijkgericht werken", capacity=1, waitlist_mode="offer")
    first = (await register(browser, meeting["id"], 1)).json()
    second = (await register(browser, meeting["id"], 2)).json()
    assert (first["status"], second["status"]) == ("confirmed", "waitlisted")

    async with running_workers(mail_settings):
        asked = await browser.post("/inloggen", data={"email": FIRST})
        assert asked.status_code == 202
        signin = await mail_to(mail_sink, FIRST, "Je persoonlijke link")
        mine = await press(browser, link(signin, "/inloggen/"))
        assert mine.status_code == 200, mine.text
        assert "Wijkgericht werken" in mine.text

        # Mails in English from now on: the person's own choice, saved with the profile.
        saved = await browser.post("/mijn/gegevens", data=profile_form(mine.text) | {"locale": "en"})
        assert saved.status_code == 200, saved.text
        assert await conn.fetchval("SELECT locale FROM participants WHERE email = $1", FIRST) == "en"
        assert 'id="veld-locale-en" name="locale" value="en" checked' in saved.text

        cancel_url = f"/mijn/afmelden/{first['id']}"
        assert f'href="{cancel_url}"' in saved.text, "each meeting on the list has its own cancel link"
        shown = await browser.get(cancel_url)
        assert shown.status_code == 200
        assert "Afmelden?" in shown.text
        assert "Wijkgericht werken" in shown.text
        assert await conn.fetchval("SELECT status FROM registrations WHERE id = $1", first["id"]) == "confirmed"
        done = await browser.post(cancel_url)
        assert done.status_code == 200, done.text
        assert "Je bent afgemeld voor Wijkgericht werken" in done.text
        assert done.url.path == "/mijn", "Post/Redirect/Get: a reload shows the list, not 'cannot cancel any more'"
        assert f'href="{cancel_url}"' not in done.text, "a cancelled place has no cancel link"

        offer = await mail_to(mail_sink, SECOND, "Er is een plek voor je vrij")
        cancelled = await mail_to(mail_sink, FIRST, "Registration cancelled")
    assert "/aanbod/" in text_of(offer), "the next in line can take the seat from the mail"
    assert "Wijkgericht werken" in str(cancelled.message["Subject"])
    statuses = await conn.fetch(
        "SELECT p.email, r.status FROM registrations r JOIN participants p ON p.id = r.participant_id "
        "WHERE r.meeting_id = $1 ORDER BY p.email",
        meeting["id"],
    )
    assert [(r["email"], r["status"]) for r in statuses] == [(FIRST, "cancelled"), (SECOND, "offered")]

    # Once more: nothing happens twice, and the page says so.
    again = await browser.post(cancel_url)
    assert again.status_code == 404
    assert "Afmelden kan niet (meer)" in again.text

    # The English mail's own link opens the pages in English in a browser new to Leerkring; a language chosen with
    # the switch stays.
    manage = link(cancelled, "/mijn?token=")
    browser.cookies.clear()
    assert '<html lang="en"' in (await browser.get(manage)).text
    assert '<html lang="en"' in (await browser.get("/agenda")).text
    browser.cookies.clear()
    browser.cookies.set(i18n.COOKIE, "nl", domain="leerkring.test")
    assert '<html lang="nl"' in (await browser.get(manage)).text


async def test_nobody_cancels_a_registration_not_their_own(
    browser: Client, vng: dict[str, str], conn: Connection
) -> None:
    meeting = await published(browser, vng, capacity=5)
    first = (await register(browser, meeting["id"], 1)).json()
    second = (await register(browser, meeting["id"], 2)).json()
    token = await tokens.issue(conn, UUID(second["participant_id"]), "manage")
    browser.cookies.set(session.COOKIE, token, domain="leerkring.test")
    url = f"/mijn/afmelden/{first['id']}"
    for answer in (await browser.get(url), await browser.post(url)):
        assert answer.status_code == 404, "someone else's registration is as unknown as one that never was"
    browser.cookies.clear()
    signed_out = await browser.get(url)
    assert signed_out.status_code == 401
    assert "Log in om verder te gaan" in signed_out.text
