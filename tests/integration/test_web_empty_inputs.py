"""A field left empty is told to be filled in, in the form's own words: not a length ("Moet minstens 6 tekens lang
zijn"), an unknown value ("Deze sleutel kennen we niet") or a kind ("Vul een geheel getal in (nu: tekst)")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from services.app import create_app
from services.db import Connection
from services.participants import tokens
from services.settings import Settings
from services.web import i18n, session
from tests.api import published, register
from tests.conftest import Keys
from tests.csrf import like_a_browser
from tests.integration.test_web_circles import field_error, form
from tests.integration.test_web_sessions import sign_in

Client = AsyncTestClient  # type: ignore[type-arg]


@pytest.fixture
async def browser(settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings), base_url="https://leerkring.test") as client:
        yield like_a_browser(client, settings.secret_key)


def in_english(browser: Client) -> None:
    browser.cookies.set(i18n.COOKIE, "en", domain="leerkring.test")


async def test_an_empty_check_in_code_asks_for_the_code(browser: Client, keys: Keys, conn: Connection) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng)
    assert (await register(browser, meeting["id"], 1, **vng)).status_code == 201
    participant_id = await conn.fetchval("SELECT participant_id FROM registrations")
    token = await tokens.issue(conn, UUID(str(participant_id)), "manage")
    browser.cookies.set(session.COOKIE, token, domain="leerkring.test")
    empty = await browser.post(f"/inchecken/{meeting['id']}", data={"code": ""})
    assert empty.status_code == 422
    assert field_error(empty.text, "code") == "Vul de incheckcode in"
    assert "Moet minstens" not in empty.text
    short = await browser.post(f"/inchecken/{meeting['id']}", data={"code": "AB"})
    assert field_error(short.text, "code") == "Moet minstens 6 tekens lang zijn", "a short code is still told so"
    in_english(browser)
    english = await browser.post(f"/inchecken/{meeting['id']}", data={"code": ""})
    assert field_error(english.text, "code") == "Enter the check-in code"


async def test_an_empty_key_at_the_organiser_sign_in_asks_for_the_key(browser: Client) -> None:
    empty = await browser.post("/organisator/inloggen", data={"key": ""}, follow_redirects=False)
    assert empty.status_code == 422
    assert field_error(empty.text, "key") == "Vul de API-sleutel van je organisatie in"
    assert "kennen we niet" not in empty.text
    wrong = await browser.post("/organisator/inloggen", data={"key": "lkr_onbekend"}, follow_redirects=False)
    assert wrong.status_code == 401
    assert "kennen we niet" in field_error(wrong.text, "key"), "a key that was typed is still unknown"
    in_english(browser)
    english = await browser.post("/organisator/inloggen", data={"key": ""}, follow_redirects=False)
    assert field_error(english.text, "key") == "Enter the API key of your organisation"


async def test_empty_number_fields_of_the_circle_form_ask_for_a_number(browser: Client, keys: Keys) -> None:
    await sign_in(browser, await keys.headers("organiser", "VNG"))
    numbers = ("size_min", "size_max", "every_weeks", "count")
    empty = await browser.post("/organisator/leerkringen/nieuw", data=form("", **dict.fromkeys(numbers, "")))
    assert empty.status_code == 422
    for name in numbers:
        assert field_error(empty.text, name) == "Vul een getal in", name
    assert "(nu: tekst)" not in empty.text
    typed = await browser.post("/organisator/leerkringen/nieuw", data=form("", count="veel"))
    assert field_error(typed.text, "count") == "Vul een geheel getal in (nu: tekst)", "text that is no number"
    in_english(browser)
    english = await browser.post("/organisator/leerkringen/nieuw", data=form("", count=""))
    assert field_error(english.text, "count") == "Enter a number"
