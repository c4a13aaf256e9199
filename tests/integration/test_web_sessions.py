"""The organiser's and funder's page session: bound to the key, signed, and only for its role."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from services.app import create_app
from services.auth.keys import revoke_key
from services.db import Connection
from services.settings import Settings
from services.web.organiser_session import COOKIE
from tests.api import published
from tests.conftest import Keys
from tests.csrf import like_a_browser
from tests.factories import participant_body

Client = AsyncTestClient  # type: ignore[type-arg]


@pytest.fixture
async def browser(settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings), base_url="https://leerkring.test") as client:
        yield like_a_browser(client, settings.secret_key)


async def sign_in(browser: Client, headers: dict[str, str]) -> str:
    answer = await browser.post(
        "/organisator/inloggen", data={"key": headers["Authorization"][7:]}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}="))
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "samesite=strict" in cookie.lower()
    assert headers["Authorization"][7:] not in cookie, "the key itself never goes into the cookie"
    return str(answer.headers["location"])


async def test_revoking_the_key_ends_its_page_session(browser: Client, conn: Connection, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    assert await sign_in(browser, vng) == "/organisator"
    meeting = await published(browser, vng, title="Alleen voor VNG")
    assert "Alleen voor VNG" in (await browser.get("/organisator")).text
    prefix = vng["Authorization"].split("_")[1]
    await revoke_key(conn, prefix)
    after = await browser.get("/organisator")
    assert after.status_code == 401
    assert "Log in als organisator" in after.text
    assert (await browser.get(f"/organisator/bijeenkomsten/{meeting['id']}")).status_code == 401


async def test_a_forged_or_altered_session_opens_nothing(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    await sign_in(browser, vng)
    value = next(c.value for c in browser.cookies.jar if c.name == COOKIE)
    assert value
    key_id, expires, token = value.split(".")
    for forged in (f"{key_id}.{int(expires) + 86400}.{token}", f"{key_id}.{expires}.{token[:-2]}xx", "x.y.z"):
        browser.cookies.clear()
        browser.cookies.set(COOKIE, forged, domain="leerkring.test")
        assert (await browser.get("/organisator")).status_code == 401, forged


async def test_each_role_opens_only_its_own_pages(browser: Client, keys: Keys) -> None:
    aof = await keys.headers("funder", "AOF")
    assert await sign_in(browser, aof) == "/financier"
    assert (await browser.get("/financier")).status_code == 200
    wrong = await browser.get("/organisator")
    assert wrong.status_code == 403, "a funder's key opens no organiser page, and signing in again would not help"
    assert "Deze pagina is niet voor jouw rol" in wrong.text
    browser.cookies.clear()
    vng = await keys.headers("organiser", "VNG")
    await sign_in(browser, vng)
    assert (await browser.get("/financier")).status_code == 403, "an organiser sees no funder report"


async def test_another_bodys_meeting_is_not_shown_to_an_organiser(browser: Client, keys: Keys) -> None:
    bzk = await keys.headers("organiser", "BZK")
    theirs = await published(browser, bzk, title="Van BZK")
    vng = await keys.headers("organiser", "VNG")
    await sign_in(browser, vng)
    assert "Van BZK" not in (await browser.get("/organisator")).text
    page = await browser.get(f"/organisator/bijeenkomsten/{theirs['id']}")
    assert page.status_code in (403, 404)
    assert not re.search(r"deelnemer\d@", page.text)


async def test_the_evaluation_page_keeps_the_apis_minimum_and_its_owner(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng, title="Geëvalueerd")
    await sign_in(browser, vng)
    page = await browser.get(f"/organisator/bijeenkomsten/{meeting['id']}/evaluatie")
    assert page.status_code == 200
    assert "zodra minstens 3 mensen hebben geantwoord" in page.text
    for link in re.findall(r'href="(/organisator/bijeenkomsten/[^"]+/evaluatie/uitkomsten\.(?:csv|xlsx))"', page.text):
        download = await browser.get(link)
        assert download.status_code == 200, link
        assert "attachment" in download.headers["content-disposition"]
        assert "-geevalueerd." in download.headers["content-disposition"], "named after the meeting, not its id"
    assert "/evaluatie/uitkomsten.xlsx" in page.text
    assert (await browser.get(f"/organisator/bijeenkomsten/{meeting['id']}/evaluatie/anders.pdf")).status_code == 404
    browser.cookies.clear()
    await sign_in(browser, await keys.headers("organiser", "BZK"))
    other = await browser.get(f"/organisator/bijeenkomsten/{meeting['id']}/evaluatie")
    assert other.status_code == 403, "another body's organiser, as in the API"


async def test_the_door_without_script_and_its_queue_sent_twice(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    start = datetime.now(UTC) + timedelta(minutes=10)
    meeting = await published(
        browser, vng, starts_at=start.isoformat(), ends_at=(start + timedelta(hours=1)).isoformat(), reminders=[]
    )
    url = f"/api/v1/meetings/{meeting['id']}/registrations"
    ids = [
        (await browser.post(url, json={"participant": participant_body(n)}, headers=vng)).json()["id"] for n in (1, 2)
    ]
    await sign_in(browser, vng)
    base = f"/organisator/bijeenkomsten/{meeting['id']}"
    plain = await browser.post(f"{base}/aanwezig", data={"registration_id": ids[0]})
    assert plain.status_code == 200, "a plain form post, as without the script"
    assert "Ingecheckt." in plain.text
    for _attempt in range(2):
        sent = await browser.post(f"{base}/aanwezig/lijst", json={"registration_ids": [ids[0], ids[1], ids[1]]})
        assert sent.status_code == 200, sent.text
        assert sorted(sent.json()["recorded"]) == sorted(ids)
    rows = (await browser.get(f"/api/v1/meetings/{meeting['id']}/attendance", headers=vng)).json()["items"]
    assert sorted(r["registration_id"] for r in rows) == sorted(ids), "two people, two records, however often sent"
    bad = await browser.post(f"{base}/aanwezig/lijst", json={"registration_ids": ["geen-id"]})
    assert bad.status_code == 422


async def test_editing_a_meeting_through_the_form_uses_the_services_rules(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng, title="Oude titel")
    await sign_in(browser, vng)
    base = f"/organisator/bijeenkomsten/{meeting['id']}/bewerken"
    shown = await browser.get(base)
    assert 'value="Oude titel"' in shown.text, "the form holds the meeting as it is"
    values = dict(re.findall(r'<input class="utrecht-textbox[^>]*name="(\w+)" value="([^"]*)"', shown.text))
    form = {**values, "format": "intervisie", "waitlist": "ja", "title": "Nieuwe titel", "capacity": "0"}
    refused = await browser.post(base, data=form)
    assert refused.status_code == 422
    assert 'href="#veld-capacity"' in refused.text, "msgspec's bound on capacity, at the field"
    saved = await browser.post(base, data={**form, "capacity": "25"})
    assert saved.status_code == 200, saved.text
    assert "Opgeslagen." in saved.text
    after = (await browser.get(f"/api/v1/meetings/{meeting['id']}")).json()
    assert (after["title"], after["capacity"]) == ("Nieuwe titel", 25)
    invite = await browser.post(f"/organisator/bijeenkomsten/{meeting['id']}/uitnodigen", data={"emails": "geen"})
    assert invite.status_code == 422, "a hand-made post missing fields is a page with the error, never a 500"
    assert 'href="#veld-emails"' in invite.text
    bare = await browser.post("/organisator/nieuw", data={"title": "Alleen een titel"})
    assert bare.status_code == 422
    assert 'href="#veld-date"' in bare.text


async def test_the_funder_pages_answer_bad_parameters_with_a_page(browser: Client, keys: Keys) -> None:
    await sign_in(browser, await keys.headers("funder", "AOF"))
    for url in ("/financier?jaar=abcd", "/financier?jaar=1800"):
        assert (await browser.get(url)).status_code in (200, 422), url
    bad = await browser.get("/financier/rapport?indeling=postcode&formaat=xlsx")
    assert bad.status_code == 422
    assert "text/html" in bad.headers["content-type"]
    good = await browser.get("/financier/rapport?jaar=2026&indeling=theme&formaat=csv")
    assert good.status_code == 200
    assert good.headers["content-type"].startswith("text/csv")
