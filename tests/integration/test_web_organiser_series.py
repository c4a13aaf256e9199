"""Series on the organiser's pages and in the API: list, start, rename, a meeting in it, its meetings; another
body's series is not found."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from services.app import create_app
from services.settings import Settings
from tests.conftest import Keys
from tests.csrf import like_a_browser
from tests.integration.test_web_sessions import sign_in

Client = AsyncTestClient  # type: ignore[type-arg]


@pytest.fixture
async def browser(settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings), base_url="https://leerkring.test") as client:
        yield like_a_browser(client, settings.secret_key)


async def test_an_organiser_starts_a_series_plans_a_meeting_in_it_and_renames_it(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    await sign_in(browser, vng)
    home = await browser.get("/organisator")
    assert 'href="/organisator/reeksen"' in home.text
    empty = await browser.post("/organisator/reeksen", data={"title": "  "})
    assert empty.status_code == 422
    assert 'id="fout-title"' in empty.text
    started = await browser.post("/organisator/reeksen", data={"title": "Leergang Wmo"}, follow_redirects=False)
    assert started.status_code == 303
    path = started.headers["location"].split("?")[0]
    series_id = path.rsplit("/", 1)[1]
    shown = await browser.get(started.headers["location"])
    assert "De reeks is aangemaakt." in shown.text
    assert f'href="/organisator/nieuw?reeks={series_id}"' in shown.text

    form = await browser.get(f"/organisator/nieuw?reeks={series_id}")
    assert f'<option value="{series_id}" selected>Leergang Wmo</option>' in form.text
    meeting = {"title": "Leergang Wmo, dag 1", "format": "intervisie", "date": "2031-03-04", "start": "13:30",
               "end": "16:00", "capacity": "20", "venue_name": "Stadhuis", "venue_city": "Utrecht",
               "series": series_id}  # fmt: skip
    created = await browser.post("/organisator/nieuw", data=meeting, follow_redirects=False)
    assert created.status_code == 303
    meeting_page = await browser.get(created.headers["location"])
    assert f'href="/organisator/reeksen/{series_id}">Leergang Wmo</a>' in meeting_page.text
    listed = await browser.get(path)
    assert "Leergang Wmo, dag 1" in listed.text
    assert "1 bijeenkomst, waarvan 1 nog komt." in listed.text
    api = (await browser.get("/api/v1/meetings", params={"seriesId": series_id}, headers=vng)).json()
    assert [m["title"] for m in api["items"]] == ["Leergang Wmo, dag 1"], "the page made it through the API's rules"

    renamed = await browser.post(f"{path}/bewerken", data={"title": "Leergang Wmo 2031"}, follow_redirects=False)
    assert renamed.status_code == 303
    assert (await browser.get(f"/api/v1/series/{series_id}", headers=vng)).json()["title"] == "Leergang Wmo 2031"
    index = await browser.get("/organisator/reeksen")
    assert "Leergang Wmo 2031" in index.text

    bzk = await keys.headers("organiser", "BZK")
    assert (await browser.get(f"/api/v1/series/{series_id}", headers=bzk)).status_code == 404
    patched = await browser.patch(f"/api/v1/series/{series_id}", json={"title": "Van BZK"}, headers=bzk)
    assert patched.status_code == 404
    browser.cookies.clear()
    await sign_in(browser, bzk)
    assert (await browser.get(path)).status_code == 404, "another body's series does not exist for it"
    assert "Leergang Wmo" not in (await browser.get("/organisator/reeksen")).text


async def test_the_new_organiser_pages_speak_english_after_the_switch(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    await sign_in(browser, vng)
    switched = await browser.post("/taal", data={"taal": "en", "terug": "/organisator/reeksen"})
    assert switched.status_code == 200
    assert "Your organisation has no series yet." in switched.text
    team = await browser.get("/organisator/collegas")
    assert "Colleagues who sign in with their email address" in team.text
    signin = await browser.get("/organisator/inloggen")
    assert "Send me a sign-in link" in signin.text
