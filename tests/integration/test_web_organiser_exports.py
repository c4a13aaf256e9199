"""The organiser's exports of a meeting: Dutch headings and words, organisation names, walk-ins included, CSV and
XLSX, and a name typed as a formula stays text in both."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient

from services.app import create_app
from services.settings import Settings
from tests.conftest import Keys
from tests.csrf import like_a_browser
from tests.factories import participant_body
from tests.integration.test_attendance import on_behalf, running
from tests.integration.test_web_sessions import sign_in
from tests.xlsx import read_xlsx

Client = AsyncTestClient  # type: ignore[type-arg]
FORMULA = '=HYPERLINK("http://kwaad.example/x","klik")'


@pytest.fixture
async def browser(settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings), base_url="https://leerkring.test") as client:
        yield like_a_browser(client, settings.secret_key)


def read_csv(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff"), "a byte-order mark, so Excel reads the accents"
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


async def test_the_exports_say_who_registered_and_who_came_with_walk_ins_in_dutch(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await running(browser, vng, started=timedelta(minutes=10), capacity=2)
    mid = meeting["id"]
    came = await on_behalf(browser, vng, mid, 1)
    await browser.post(f"/api/v1/meetings/{mid}/registrations", headers=vng,
                       json={"participant": participant_body(2, name=FORMULA)})  # fmt: skip
    waiting = await on_behalf(browser, vng, mid, 3)
    assert waiting["status"] == "waitlisted"
    marks = {"records": [{"registration_id": came["id"], "status": "attended"},
                         {"participant": participant_body(4, name="Inge Inloop"), "status": "attended"}]}  # fmt: skip
    assert (await browser.post(f"/api/v1/meetings/{mid}/attendance", json=marks, headers=vng)).status_code == 200

    await sign_in(browser, vng)
    page = await browser.get(f"/organisator/bijeenkomsten/{mid}")
    for file in ("inschrijvingen.xlsx", "inschrijvingen.csv", "aanwezigheid.xlsx", "aanwezigheid.csv"):
        assert f'href="/organisator/bijeenkomsten/{mid}/export/{file}"' in page.text

    answer = await browser.get(f"/organisator/bijeenkomsten/{mid}/export/inschrijvingen.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    header, *rows = read_csv(answer.content)
    assert header == ["Naam", "E-mailadres", "Organisatie", "Beroepsgroep", "Status", "Plaats op de wachtlijst",
                      "Ingeschreven op", "Aanwezig", "Inloop"]  # fmt: skip
    by_name = {r[0]: r for r in rows}
    one = by_name["Deelnemer 1"]
    assert (one[2], one[3]) == ("'s-Gravenhage", "Wmo-consulent"), "names, not codes"
    assert (one[4], one[7], one[8]) == ("ingeschreven", "aanwezig", "nee")
    assert (by_name["Deelnemer 3"][4], by_name["Deelnemer 3"][5]) == ("op de wachtlijst", "1")
    assert by_name["Inge Inloop"][4:] == ["inloop (niet ingeschreven)", "", "", "aanwezig", "ja"], "walk-ins too"
    assert "'" + FORMULA in by_name, "a name that looks like a formula stays text"

    book = read_xlsx((await browser.get(f"/organisator/bijeenkomsten/{mid}/export/inschrijvingen.xlsx")).content)
    assert not book.formulas, "never a formula"
    sheet = book.sheets["Inschrijvingen"]
    assert sheet.rows[0][0] == "Naam"
    assert {r[0] for r in sheet.rows[1:]} == {"Deelnemer 1", FORMULA, "Deelnemer 3", "Inge Inloop"}

    header, *present = read_csv(
        (await browser.get(f"/organisator/bijeenkomsten/{mid}/export/aanwezigheid.csv")).content
    )
    assert header[:6] == ["Naam", "E-mailadres", "Organisatie", "Beroepsgroep", "Aanwezig", "Inloop"]
    assert sorted((r[0], r[4], r[5]) for r in present) == [("Deelnemer 1", "aanwezig", "nee"),
                                                           ("Inge Inloop", "aanwezig", "ja")]  # fmt: skip
    attendance = read_xlsx((await browser.get(f"/organisator/bijeenkomsten/{mid}/export/aanwezigheid.xlsx")).content)
    assert len(attendance.sheets["Aanwezigheid"].rows) == 3
    assert (await browser.get(f"/organisator/bijeenkomsten/{mid}/export/iets.pdf")).status_code == 404


async def test_another_body_gets_no_export(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await running(browser, vng, started=timedelta(minutes=10))
    await on_behalf(browser, vng, meeting["id"], 1)
    await sign_in(browser, await keys.headers("organiser", "BZK"))
    answer = await browser.get(f"/organisator/bijeenkomsten/{meeting['id']}/export/inschrijvingen.csv")
    assert answer.status_code == 403
    assert "Deelnemer 1" not in answer.text
