"""What a new user's walk through the pages found: each page says what happened, in words for the reader."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from markupsafe import escape

from services.app import create_app
from services.settings import Settings
from tests.api import published
from tests.conftest import Keys
from tests.csrf import like_a_browser
from tests.factories import participant_body
from tests.integration.test_web_sessions import sign_in

Client = AsyncTestClient  # type: ignore[type-arg]
PAGE = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
async def browser(settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings), base_url="https://leerkring.test") as client:
        yield like_a_browser(client, settings.secret_key)


async def test_the_empty_invitation_form_says_what_to_choose(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng)
    await sign_in(browser, vng)
    empty = {"group": "", "organisation": "", "emails": "", "note": ""}
    answer = await browser.post(f"/organisator/bijeenkomsten/{meeting['id']}/uitnodigen", data=empty)
    assert answer.status_code == 422
    assert 'class="utrecht-alert utrecht-alert--error foutmeldingen"' in answer.text
    assert "Kies een doelgroep of plak adressen" in answer.text


async def test_rejected_pasted_addresses_are_shown_with_their_reason(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng)
    await sign_in(browser, vng)
    pasted = (
        'een@example.org\nnietgoed@\ntwee@example.org\nEva Tester <eva@example.org>; "Jansen, Jan" <jan@example.org>'
    )
    form = {"group": "", "organisation": "", "emails": pasted, "note": ""}
    answer = await browser.post(f"/organisator/bijeenkomsten/{meeting['id']}/uitnodigen", data=form)
    assert answer.status_code == 200, answer.text
    assert "/uitnodigingen/" in str(answer.url)
    assert "1 adres niet uitgenodigd" in answer.text
    assert "<code>nietgoed@</code>:" in answer.text
    assert "nietgoed" not in str(answer.url), "the addresses stay out of the URL"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/bijeenkomsten/123", 404),
        ("/evaluatie/bogus", 404),
        ("/bestaat-niet", 404),
        ("/agenda?thema=" + "x" * 201, 422),
    ],
)
async def test_a_browser_gets_a_page_for_a_bad_page_address(browser: Client, url: str, status: int) -> None:
    answer = await browser.get(url, headers=PAGE)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html"), answer.text[:200]
    assert '<h1 class="utrecht-heading-1">' in answer.text
    english = await browser.get(url, headers={**PAGE, "Cookie": "leerkring_taal=en"})
    assert english.status_code == status
    assert '<html lang="en"' in english.text
    assert ("Not found" if status == 404 else "Invalid input") in english.text


async def test_the_api_keeps_its_problem_documents(browser: Client) -> None:
    for url in ("/api/v1/meetings/123", "/feeds/bestaat-niet", "/bestaat-niet"):
        headers = PAGE if url.startswith(("/api/", "/feeds/")) else {"Accept": "application/json"}
        answer = await browser.get(url, headers=headers)
        assert answer.status_code in (404, 422), url
        assert answer.headers["content-type"].startswith("application/problem+json"), url


async def test_the_funder_pages_speak_to_a_funder(browser: Client, keys: Keys) -> None:
    signed_out = await browser.get("/financier")
    assert signed_out.status_code == 401
    assert "Log in als financier" in signed_out.text
    assert "als organisator" not in signed_out.text
    form = await browser.get("/organisator/inloggen")
    assert "Inloggen met je sleutel" in form.text
    assert "Inloggen als organisator" not in form.text
    await sign_in(browser, await keys.headers("funder", "AOF"))
    dashboard = await browser.get("/financier")
    assert dashboard.status_code == 200
    heading = dashboard.text.split('<h1 class="utrecht-heading-1">', 1)[1].split("</h1>")[0]
    assert "AOF" not in heading, "the funder's name, not its code"
    assert "Rapportage – A&amp;O fonds Gemeenten" in heading
    assert 'action="/organisator/uitloggen"' in dashboard.text
    for year in ("1900", "abc"):
        wrong = await browser.get("/financier", params={"jaar": year})
        assert wrong.status_code == 422, year
        assert 'id="fout-jaar"' in wrong.text, "the year field says what it takes"
        assert f'value="{year}"' in wrong.text, "with what was typed"
        assert 'id="grafiek-month-kop"' in wrong.text, "and the dashboard of this year below it"
    out = await browser.post("/organisator/uitloggen", data={}, follow_redirects=False)
    assert out.status_code == 303
    assert (await browser.get("/financier")).status_code == 401, "signed out"


async def test_the_door_view_names_organisations(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng)
    url = f"/api/v1/meetings/{meeting['id']}/registrations"
    assert (await browser.post(url, json={"participant": participant_body(1)}, headers=vng)).status_code == 201
    name = (await browser.get("/api/v1/organisations/GM0518", headers=vng)).json()["name"]
    await sign_in(browser, vng)
    door = await browser.get(f"/organisator/bijeenkomsten/{meeting['id']}")
    assert f'<td class="utrecht-table__cell">{escape(name)}</td>' in door.text
    assert '<td class="utrecht-table__cell">GM0518</td>' not in door.text
    assert 'data-tekst-rij-een="1 check-in wacht op verbinding' in door.text


async def test_every_page_has_an_icon(browser: Client) -> None:
    agenda = await browser.get("/agenda", headers=PAGE)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in agenda.text
    for url in ("/static/favicon.svg", "/favicon.ico"):
        icon = await browser.get(url)
        assert icon.status_code == 200, url
        assert icon.headers["content-type"].startswith("image/svg+xml")
        assert icon.content.startswith(b"<svg")


async def test_a_full_meetings_page_offers_the_waiting_list(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng, capacity=1, waitlist_enabled=True)
    before = await browser.get(f"/bijeenkomsten/{meeting['id']}", headers=PAGE)
    assert "Schrijf me in" in before.text
    url = f"/api/v1/meetings/{meeting['id']}/registrations"
    assert (await browser.post(url, json={"participant": participant_body(1)}, headers=vng)).status_code == 201
    full = await browser.get(f"/bijeenkomsten/{meeting['id']}", headers=PAGE)
    assert "vol; je kunt op de wachtlijst" in full.text
    assert "Zet me op de wachtlijst" in full.text
    assert "Schrijf me in" not in full.text


async def test_a_forms_answer_address_opened_again_leads_back_instead_of_405(browser: Client, keys: Keys) -> None:
    meeting = await published(browser, await keys.headers("organiser", "VNG"))
    for path in (f"/bijeenkomsten/{meeting['id']}/inschrijven", f"/bijeenkomsten/{meeting['id']}/afmelden"):
        again = await browser.get(path, headers=PAGE, follow_redirects=False)
        assert again.status_code == 303, path
        assert again.headers["location"] == f"/bijeenkomsten/{meeting['id']}"


async def test_too_long_a_search_is_said_at_the_search_box_with_the_agenda_below(browser: Client) -> None:
    answer = await browser.get("/agenda", params={"zoek": "x" * 250}, headers=PAGE)
    assert answer.status_code == 422
    assert 'id="fout-zoek"' in answer.text
    assert "Zoek met hoogstens 100 tekens" in answer.text
    assert 'id="resultaten"' in answer.text, "the agenda is still there"
