"""The organiser in a real browser: sign in with the key, create a meeting through the form (the service's own
error shown at the field), publish it, see it in the agenda; at the door the QR code and a check-in button per
person; cancel. axe-core on every page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.async_api import BrowserContext, Page, expect

from localdev.mailsink import MailSink
from tests.api import published
from tests.e2e.browser import look
from tests.e2e.conftest import Site
from tests.factories import participant_body
from tests.integration.invitation_helpers import mails
from tests.xlsx import read_xlsx


async def test_an_organiser_creates_publishes_checks_people_in_and_cancels(
    site: Site, api: httpx.AsyncClient, person: BrowserContext, vng: dict[str, str]
) -> None:
    key = vng["Authorization"].removeprefix("Bearer ")
    page = await person.new_page()
    await page.goto("/organisator")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Log in als organisator")
    await page.goto("/organisator/inloggen")
    await page.get_by_label("API-sleutel").fill("lkr_verkeerd_sleutel")
    await page.get_by_role("button", name="Inloggen").click()
    await expect(page.get_by_role("heading", name="Controleer wat je hebt ingevuld")).to_be_focused()
    await page.get_by_label("API-sleutel").fill(key)
    await page.get_by_role("button", name="Inloggen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mijn bijeenkomsten als organisator")
    await look(page, "organisator start")

    await page.get_by_role("link", name="Nieuwe bijeenkomst").click()
    day = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    await page.get_by_label("Titel").fill("Werksessie armoedebeleid")
    await page.get_by_label("Werkvorm").select_option("werksessie")
    await page.get_by_label("Datum").fill(day)
    await page.get_by_label("Begintijd").fill("15:00")
    await page.get_by_label("Eindtijd").fill("13:00")
    await page.get_by_label("Aantal plaatsen").fill("12")
    await page.get_by_label("Locatie").fill("Gemeentehuis")
    await page.get_by_label("Plaats", exact=True).fill("Zwolle")
    await page.get_by_role("button", name="Opslaan").click()
    # The rule is the service's (ends after starts); the page puts its message at the end time.
    await expect(page.get_by_role("heading", name="Controleer wat je hebt ingevuld")).to_be_focused()
    await expect(page.locator("#fout-end")).to_have_text("Het einde moet na het begin liggen")
    await expect(page.locator("#veld-end")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Titel")).to_have_value("Werksessie armoedebeleid")
    await look(page, "organisator formulier met fouten", shoot=True)
    await page.get_by_label("Eindtijd").fill("17:00")
    await page.get_by_role("button", name="Opslaan").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Werksessie armoedebeleid")
    await expect(page.locator("dl.gegevens")).to_contain_text("concept")
    await page.get_by_role("button", name="Publiceren").click()
    await expect(page.get_by_role("status")).to_contain_text("Gepubliceerd")
    await look(page, "organisator bijeenkomst", shoot=True)
    await page.goto("/agenda")
    await expect(page.get_by_role("link", name="Werksessie armoedebeleid")).to_be_visible()

    # At the door of a meeting about to start: the QR code, and a button per person.
    start = datetime.now(UTC) + timedelta(minutes=10)
    door = await published(api, vng, title="Deur-test", starts_at=start.isoformat(),
                           ends_at=(start + timedelta(hours=1)).isoformat(), reminders=[])  # fmt: skip
    for n in (1, 2):
        url = f"/api/v1/meetings/{door['id']}/registrations"
        assert (await api.post(url, json={"participant": participant_body(n)}, headers=vng)).status_code == 201
    await page.goto("/organisator")
    await page.get_by_role("link", name="Deur-test").click()
    await expect(page.locator("img.qr")).to_be_visible()
    code = (await api.get(f"/api/v1/meetings/{door['id']}/checkin", headers=vng)).json()["code"]
    await expect(page.locator(".inchekcode .code")).to_have_text(code)
    await page.set_viewport_size({"width": 1024, "height": 768})  # a tablet at the door
    await look(page, "organisator deur", shoot=True)
    await expect(page.locator("#deur-status")).to_have_text("", timeout=3_000)  # nothing sent yet, nothing to say
    await page.get_by_role("button", name="Inchecken").first.click()
    await expect(page.locator("#deur-status")).to_have_text("Alle check-ins zijn verstuurd.")
    await expect(page.locator("#aantal-ingecheckt")).to_have_text("1")
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Inschrijvingen (Excel)").click()
    exported = await asyncio.to_thread(Path(await (await download_info.value).path()).read_bytes)
    sheet = read_xlsx(exported).sheets["Inschrijvingen"]
    assert sheet.rows[0][:3] == ["Naam", "E-mailadres", "Organisatie"], "Dutch, with organisation names"
    assert {r[0] for r in sheet.rows[1:]} == {"Deelnemer 1", "Deelnemer 2"}
    listed = (await api.get(f"/api/v1/meetings/{door['id']}/attendance", headers=vng)).json()["items"]
    assert [a["status"] for a in listed] == ["attended"], "the button used the API's own attendance record"

    await page.get_by_label("Reden (komt in de mail aan de deelnemers)").fill("De zaal is niet beschikbaar")
    await page.get_by_role("button", name="Annuleer de bijeenkomst…").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("annuleren?")
    await look(page, "organisator annuleren bevestigen")
    assert (await api.get(f"/api/v1/meetings/{door['id']}")).json()["status"] == "published", "asked, not done"
    await page.get_by_role("button", name="Ja, annuleer de bijeenkomst").click()
    await expect(page.locator(".melding")).to_contain_text("Geannuleerd")
    assert (await api.get(f"/api/v1/meetings/{door['id']}")).json()["status"] == "cancelled"


async def sign_in(page: Page, key: str) -> None:
    await page.goto("/organisator/inloggen")
    await page.get_by_label("API-sleutel").fill(key)
    await page.get_by_role("button", name="Inloggen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mijn bijeenkomsten als organisator")


async def test_inviting_shows_the_fan_out_live_and_the_mails_arrive(
    site: Site, api: httpx.AsyncClient, person: BrowserContext, vng: dict[str, str], mail_sink: MailSink
) -> None:
    meeting = await published(api, vng, title="Uitnodigen met voortgang")
    page = await person.new_page()
    await sign_in(page, vng["Authorization"].removeprefix("Bearer "))
    await page.goto(f"/organisator/bijeenkomsten/{meeting['id']}")
    await page.get_by_role("link", name="Uitnodigen").click()
    await look(page, "organisator uitnodigen", shoot=True)
    await page.get_by_label("E-mailadressen").fill("geen-adres")
    await page.get_by_role("button", name="Verstuur de uitnodigingen").click()
    await expect(page.get_by_role("heading", name="Controleer wat je hebt ingevuld")).to_be_focused()
    await expect(page.locator("#veld-emails")).to_have_attribute("aria-invalid", "true")
    people = [f"collega{n}@gemeente.example.nl" for n in range(1, 6)]
    await page.get_by_label("E-mailadressen").fill("\n".join(people))
    await page.get_by_role("button", name="Verstuur de uitnodigingen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Uitnodigingen")
    await page.evaluate("window.zelfdePagina = true")  # gone if the page reloads: the bar must move by itself
    await expect(page.locator("html")).to_have_attribute("data-voortgang-klaar", "ja", timeout=60_000)
    await expect(page.get_by_role("status")).to_contain_text("Klaar: 5 van 5 verstuurd")
    assert await page.evaluate("window.zelfdePagina === true")
    assert await page.locator("progress").evaluate("p => [p.value, p.max]") == [5, 5]
    await look(page, "organisator voortgang", shoot=True)
    received = await mails(mail_sink, 5)
    assert sorted(r for m in received for r in m.rcpt_tos) == people


async def test_the_door_keeps_checking_in_without_wifi_and_counts_nobody_twice(
    site: Site, api: httpx.AsyncClient, person: BrowserContext, vng: dict[str, str]
) -> None:
    start = datetime.now(UTC) + timedelta(minutes=10)
    door = await published(api, vng, title="Zaal zonder wifi", starts_at=start.isoformat(),
                           ends_at=(start + timedelta(hours=1)).isoformat(), reminders=[])  # fmt: skip
    for n in (1, 2, 3):
        url = f"/api/v1/meetings/{door['id']}/registrations"
        assert (await api.post(url, json={"participant": participant_body(n)}, headers=vng)).status_code == 201

    async def attended() -> list[str]:
        rows = (await api.get(f"/api/v1/meetings/{door['id']}/attendance", headers=vng)).json()["items"]
        return sorted(r["participant"]["name"] for r in rows if r["status"] == "attended")

    page = await person.new_page()
    await sign_in(page, vng["Authorization"].removeprefix("Bearer "))
    await page.goto(f"/organisator/bijeenkomsten/{door['id']}")
    await expect(page.get_by_role("button", name="Inchecken: Deelnemer 1")).to_be_visible()

    await person.set_offline(True)  # the venue's Wi-Fi drops
    await page.get_by_role("button", name="Inchecken: Deelnemer 1").click()
    await expect(page.locator("#deur-status")).to_contain_text("1 check-in wacht op verbinding")
    await page.get_by_role("button", name="Inchecken: Deelnemer 2").click()
    await expect(page.locator("#deur-status")).to_contain_text("2 check-ins wachten op verbinding")
    await expect(page.get_by_text("Ingecheckt (wordt verstuurd)")).to_have_count(2)
    await look(page, "organisator deur zonder wifi", shoot=True)
    assert await attended() == [], "nothing reached the server yet"

    await person.set_offline(False)  # back: the queue goes out by itself
    await expect(page.locator("#deur-status")).to_have_text("Alle check-ins zijn verstuurd.", timeout=20_000)
    assert await attended() == ["Deelnemer 1", "Deelnemer 2"]

    # The same queue sent again (a tab that synced late, a retry after a lost answer) counts nobody twice.
    ids = await page.evaluate(
        "() => [...document.querySelectorAll('[data-registratie]')].map(c => c.getAttribute('data-registratie'))"
    )
    await page.evaluate(
        "(ids) => localStorage.setItem('leerkring-deur:' + document.querySelector('[data-deur]')"
        ".getAttribute('data-bijeenkomst'), JSON.stringify(ids.slice(0, 2)))",
        ids,
    )
    await page.reload()
    await expect(page.locator("#deur-status")).to_have_text("Alle check-ins zijn verstuurd.", timeout=20_000)
    assert await attended() == ["Deelnemer 1", "Deelnemer 2"]
    await expect(page.locator("#aantal-ingecheckt")).to_have_text("2")


async def copy_kept(page: Page, path: str) -> None:
    """Wait until the door's service worker holds a copy of `path` (it asks for one when it starts)."""
    script = "(path) => caches.open('leerkring-deur-v1').then(c => c.match(path)).then(hit => !!hit)"
    for _ in range(100):
        if await page.evaluate(script, path):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no copy of {path} in the door's cache")


async def test_the_door_page_reloads_without_wifi_and_its_check_ins_count_once(
    site: Site, api: httpx.AsyncClient, person: BrowserContext, vng: dict[str, str]
) -> None:
    start = datetime.now(UTC) + timedelta(minutes=10)
    door = await published(api, vng, title="Herladen zonder wifi", starts_at=start.isoformat(),
                           ends_at=(start + timedelta(hours=1)).isoformat(), reminders=[])  # fmt: skip
    registrations = []
    for n in (1, 2):
        url = f"/api/v1/meetings/{door['id']}/registrations"
        answer = await api.post(url, json={"participant": participant_body(n)}, headers=vng)
        assert answer.status_code == 201
        registrations.append(answer.json())

    async def attended() -> list[str]:
        rows = (await api.get(f"/api/v1/meetings/{door['id']}/attendance", headers=vng)).json()["items"]
        return sorted(r["participant"]["name"] for r in rows if r["status"] == "attended")

    page = await person.new_page()
    await sign_in(page, vng["Authorization"].removeprefix("Bearer "))
    door_path = f"/organisator/bijeenkomsten/{door['id']}"
    await page.goto(door_path)
    await copy_kept(page, door_path)
    # A second tablet at the door checks Deelnemer 2 in: the copy this tablet keeps does not know yet.
    other = {"records": [{"registration_id": registrations[1]["id"], "status": "attended"}]}
    assert (await api.post(f"/api/v1/meetings/{door['id']}/attendance", json=other, headers=vng)).status_code == 200

    await person.set_offline(True)  # the Wi-Fi drops, and someone reloads the page
    answer = await page.reload()
    assert answer is not None
    assert answer.from_service_worker, "the page came from the worker"
    assert await page.evaluate("navigator.onLine") is False
    await expect(page.get_by_role("heading", level=1)).to_have_text("Herladen zonder wifi")
    await expect(page.locator("#aantal-ingecheckt")).to_have_text("0")  # the kept copy, not the network's page
    await look(page, "organisator deur herladen zonder wifi")
    await page.get_by_role("button", name="Inchecken: Deelnemer 1").click()
    await expect(page.locator("#deur-status")).to_contain_text("1 check-in wacht op verbinding")
    assert await attended() == ["Deelnemer 2"], "nothing reached the server while offline"

    await person.set_offline(False)
    await expect(page.locator("#deur-status")).to_have_text("Alle check-ins zijn verstuurd.", timeout=20_000)
    await page.reload()  # online again: the fresh page, each check-in counted once
    await expect(page.locator("#aantal-ingecheckt")).to_have_text("2")
    assert await attended() == ["Deelnemer 1", "Deelnemer 2"]
    listed = (await api.get(f"/api/v1/meetings/{door['id']}/attendance", headers=vng)).json()["items"]
    assert len(listed) == 2
