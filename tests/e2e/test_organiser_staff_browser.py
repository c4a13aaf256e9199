"""The organiser's staff in a real browser: a colleague's address added on the Collega's page, the sign-in page
mails a link, the link from the mail (out of the SMTP sink) opens, its button signs the browser in; the series
pages. axe-core on every page."""

from __future__ import annotations

import httpx
from playwright.async_api import BrowserContext, expect

from localdev.mailsink import MailSink
from tests.e2e.browser import look
from tests.e2e.conftest import Site
from tests.e2e.test_organiser_browser import sign_in
from tests.e2e.test_participant_browser import link_in, mail_to

COLLEAGUE = "pieter.post@vng.example.nl"


async def test_a_colleague_signs_in_with_the_mailed_link(
    site: Site, api: httpx.AsyncClient, person: BrowserContext, vng: dict[str, str], mail_sink: MailSink
) -> None:
    page = await person.new_page()
    await sign_in(page, vng["Authorization"].removeprefix("Bearer "))
    await page.get_by_role("link", name="Collega’s").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Collega's die inloggen met hun e-mailadres")
    await look(page, "organisator collegas")
    await page.get_by_label("E-mailadres").fill("geen adres")
    await page.get_by_role("button", name="Toevoegen").click()
    await expect(page.get_by_role("heading", name="Controleer wat je hebt ingevuld")).to_be_focused()
    await expect(page.locator("#veld-email")).to_have_attribute("aria-invalid", "true")
    await look(page, "organisator collegas met fout")
    await page.get_by_label("E-mailadres").fill(COLLEAGUE)
    await page.get_by_role("button", name="Toevoegen").click()
    await expect(page.get_by_role("status")).to_contain_text("Toegevoegd")
    await expect(page.get_by_role("cell", name=COLLEAGUE, exact=True)).to_be_visible()
    await look(page, "organisator collegas toegevoegd", shoot=True)
    await page.goto("/organisator")
    await page.get_by_role("button", name="Uitloggen").click()

    # The colleague, on the same tablet after the organiser signed out.
    await expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen met je sleutel of e-mailadres")
    await look(page, "organisator inloggen", shoot=True)
    await page.get_by_label("E-mailadres").fill(COLLEAGUE)
    await page.get_by_role("button", name="Stuur me een inloglink").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Kijk in je mail")
    await look(page, "organisator inloglink gevraagd")
    mail = await mail_to(mail_sink, COLLEAGUE, 1, subject="inloglink")
    await page.goto(link_in(mail, site.base, "/organisator/inloggen/link/"))
    await look(page, "organisator inloglink")
    await page.get_by_role("button", name="Inloggen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mijn bijeenkomsten als organisator")

    # The series pages.
    await page.get_by_role("link", name="Reeksen").click()
    await look(page, "organisator reeksen")
    await page.get_by_label("Titel van de reeks").fill("Leergang jeugd")
    await page.get_by_role("button", name="Reeks aanmaken").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Leergang jeugd")
    await expect(page.get_by_role("status")).to_contain_text("De reeks is aangemaakt.")
    await look(page, "organisator reeks", shoot=True)
    await page.get_by_role("link", name="Nieuwe bijeenkomst in deze reeks").click()
    assert await page.get_by_label("Reeks").evaluate("s => s.options[s.selectedIndex].text") == "Leergang jeugd"
    series = (await api.get("/api/v1/series", headers=vng)).json()["items"]
    assert [s["title"] for s in series] == ["Leergang jeugd"], "made through the API's rules, for the key's body"
