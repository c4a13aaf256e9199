"""Every participant page in English reads as English: rendered by the app for a browser that chose English, in the
states a person meets (signed out and in, confirmed, on the waiting list, offered a seat, a form with errors), and
checked for Dutch words outside the data (tests/english.py). A Dutch string that did not go through gettext, on the
page or in the page code, fails here with the page and the words."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from services.app import create_app
from services.db import Connection
from services.evaluations import links as evaluation_links
from services.participants import tokens
from services.participants.links import confirm_token
from services.registrations import offers
from services.reminders import links as reminder_links
from services.settings import Settings
from services.web import i18n, session
from tests.api import published, register
from tests.csrf import like_a_browser
from tests.english import dutch_words

Client = AsyncTestClient  # type: ignore[type-arg]
BASE = "https://leerkring.test"
TITLE = "Peer review in practice"


@pytest.fixture
async def browser(settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings), base_url=BASE) as client:
        yield like_a_browser(client, settings.secret_key)


def english(answer: Any, *data: str) -> None:
    assert answer.headers["content-type"].startswith("text/html"), (answer.url, answer.text[:300])
    assert '<html lang="en"' in answer.text, answer.url
    found = dutch_words(answer.text, data=(TITLE, *data))
    assert found == [], f"{answer.request.method} {answer.url} ({answer.status_code}) has Dutch: {found}"


async def as_participant(browser: Client, conn: Connection, participant_id: str | None) -> None:
    browser.cookies.clear()
    browser.cookies.set(i18n.COOKIE, "en", domain="leerkring.test")
    if participant_id is not None:
        token = await tokens.issue(conn, UUID(participant_id), "manage")
        browser.cookies.set(session.COOKIE, token, domain="leerkring.test")


async def test_the_participant_pages_read_as_english(
    browser: Client, vng: dict[str, str], conn: Connection, settings: Settings
) -> None:
    meeting = await published(browser, vng, title=TITLE, description="Cases from practice.", capacity=1,
                              waitlist_mode="offer")  # fmt: skip
    mid = meeting["id"]
    first = (await register(browser, mid, 1)).json()
    second = (await register(browser, mid, 2)).json()
    names = ("Deelnemer 1", "Deelnemer 2", "Vereniging van Nederlandse Gemeenten")
    secret = settings.secret_key

    await as_participant(browser, conn, None)
    for url in ("/agenda", "/agenda?thema=onbekend", f"/bijeenkomsten/{mid}", "/inloggen", "/inloggen/onbekend",
                "/mijn", f"/inchecken/{mid}", f"/mijn/afmelden/{first['id']}"):  # fmt: skip
        english(await browser.get(url), *names)
    english(await browser.post("/inloggen", data={"email": "deelnemer1@gemeente.example.nl"}))
    english(await browser.post(f"/bijeenkomsten/{mid}/inschrijven", data={"email": "x"}), *names)

    # Someone new registers on the English page: the page, the link's page, and their mails are English.
    other = await published(browser, vng, title=TITLE, description="Cases from practice.")
    new = {"email": "newcomer@gemeente.example.nl", "name": "Nia Newcomer", "organisation_code": "GM0518"}
    english(await browser.post(f"/bijeenkomsten/{other['id']}/inschrijven", data=new))
    assert await conn.fetchval("SELECT locale FROM participants WHERE email = $1", new["email"]) == "en"
    request_id = await conn.fetchval(
        "SELECT r.id FROM registration_requests r JOIN participants p ON p.id = r.participant_id WHERE p.email = $1",
        new["email"],
    )
    english(await browser.get(f"/bevestigen/{confirm_token(settings, request_id)}"), "Nia Newcomer", *names)
    # The confirmation link opened again in a browser that never chose a language: the mail's language.
    saved = dict(browser.cookies)
    browser.cookies.clear()
    english(await browser.get(f"/bevestigen/{confirm_token(settings, request_id)}"), "Nia Newcomer", *names)
    for key, value in saved.items():
        browser.cookies.set(key, value, domain="leerkring.test")

    # The links in reminder mails, for the confirmed participant.
    reg = UUID(first["id"])
    for url in (
        reminder_links.cant_come_url(BASE, secret, reg),
        reminder_links.still_coming_url(BASE, secret, reg),
        reminder_links.off_url(BASE, secret, reg, "deze"),
        reminder_links.off_url(BASE, secret, reg, "alle"),
        f"/ik-kan-niet/{reg}/onbekend",
    ):
        english(await browser.get(url))
    english(await browser.post(reminder_links.still_coming_url(BASE, secret, reg)))

    await as_participant(browser, conn, second["participant_id"])
    english(await browser.get(f"/bijeenkomsten/{mid}"), *names)  # on the waiting list
    english(await browser.get("/mijn"), *names)

    await as_participant(browser, conn, first["participant_id"])
    english(await browser.get(f"/bijeenkomsten/{mid}"), *names)  # confirmed
    english(await browser.get("/mijn"), *names)
    english(await browser.post("/mijn/gegevens", data={"name": ""}), *names)
    english(await browser.post("/mijn/agenda-herinnering", data={"minuten": "15"}), *names)
    english(await browser.get(f"/mijn/afmelden/{first['id']}"), *names)
    english(await browser.post(f"/mijn/afmelden/{first['id']}"), *names)  # the seat goes to the second
    english(await browser.post(f"/mijn/afmelden/{first['id']}"), *names)  # and cannot be cancelled twice

    await as_participant(browser, conn, second["participant_id"])
    english(await browser.get(f"/bijeenkomsten/{mid}"), *names)  # offered
    for action, url in offers.offer_links("", secret, UUID(second["id"])).items():
        english(await browser.get(url), *names)
        assert action in url

    # The evaluation form, open for the second participant, and sent without the required answers.
    await conn.execute(
        "INSERT INTO evaluations (meeting_id, opened_at, closes_at) VALUES ($1, now(), now() + interval '7 days')",
        UUID(mid),
    )
    request_id = await conn.fetchval(
        "INSERT INTO evaluation_requests (meeting_id, participant_id) VALUES ($1, $2) RETURNING id",
        UUID(mid),
        UUID(second["participant_id"]),
    )
    form = evaluation_links.form_url(BASE, secret, request_id)
    english(await browser.get(form))
    english(await browser.post(form, data={"cijfer": "11"}))


async def test_a_link_from_an_english_mail_opens_an_english_page(
    browser: Client, vng: dict[str, str], conn: Connection, settings: Settings
) -> None:
    """The person's mails are in English; a browser that never chose a language opens the mail's links in English,
    one that chose Dutch with the switch keeps Dutch."""
    meeting = await published(browser, vng, title=TITLE, description="Cases from practice.")
    registration = (await register(browser, meeting["id"], 1)).json()
    await conn.execute("UPDATE participants SET locale = 'en' WHERE id = $1", UUID(registration["participant_id"]))
    await conn.execute(
        "INSERT INTO evaluations (meeting_id, opened_at, closes_at) VALUES ($1, now(), now() + interval '7 days')",
        UUID(meeting["id"]),
    )
    request_id = await conn.fetchval(
        "INSERT INTO evaluation_requests (meeting_id, participant_id) VALUES ($1, $2) RETURNING id",
        UUID(meeting["id"]),
        UUID(registration["participant_id"]),
    )
    secret, reg = settings.secret_key, UUID(registration["id"])
    urls = (
        reminder_links.still_coming_url(BASE, secret, reg),
        reminder_links.off_url(BASE, secret, reg, "deze"),
        evaluation_links.form_url(BASE, secret, request_id),
    )
    browser.cookies.clear()
    for url in urls:
        english(await browser.get(url))
    assert '<html lang="nl"' in (await browser.get("/agenda")).text, "the rest of the site: the switch decides"
    browser.cookies.set(i18n.COOKIE, "nl", domain="leerkring.test")
    for url in urls:
        assert '<html lang="nl"' in (await browser.get(url)).text, url
