"""Learning circles in a real browser: the organiser fills in the form (an error shown at its field), watches
the round being composed (the page shows the circles by itself once a worker is done), moves a member by hand
and publishes. axe-core on every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import BrowserContext, expect

from localdev.mailsink import MailSink
from services.db import Connection
from tests.e2e.browser import look
from tests.e2e.conftest import Site
from tests.e2e.test_organiser_browser import sign_in
from tests.integration.invitation_helpers import mails
from tests.integration.test_circles import signup

TITLE = "Intervisiekring Schuldhulp"


async def test_an_organiser_composes_reviews_and_publishes_learning_circles(
    site: Site,
    api: httpx.AsyncClient,
    person: BrowserContext,
    vng: dict[str, str],
    mail_sink: MailSink,
    conn: Connection,
) -> None:
    rows = await conn.fetch(
        "SELECT code FROM organisations WHERE kind = 'municipality' AND province_code IS NOT NULL ORDER BY code "
        "LIMIT 12"
    )
    meeting_id, _ = await signup(api, vng, [r["code"] for r in rows])
    page = await person.new_page()
    await sign_in(page, vng["Authorization"].removeprefix("Bearer "))
    await page.get_by_role("link", name="Leerkringen", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Leerkringen")
    await look(page, "organisator leerkringen")
    await page.get_by_role("link", name="Nieuwe leerkringen").click()
    await page.get_by_label("Titel").fill(TITLE)
    await page.get_by_label("Wie doen mee").select_option(meeting_id)
    await page.get_by_label("Kleinste kring").fill("5")
    await page.get_by_label("Grootste kring").fill("7")
    await page.get_by_label("Eerste bijeenkomst").fill("morgen")
    await page.get_by_role("button", name="Kringen samenstellen").click()
    await expect(page.get_by_role("heading", name="Controleer wat je hebt ingevuld")).to_be_focused()
    await expect(page.locator("#veld-first_date")).to_have_attribute("aria-invalid", "true")
    await look(page, "organisator leerkringen formulier met fouten", shoot=True)
    first = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    await page.get_by_label("Eerste bijeenkomst").fill(first)
    await page.get_by_label("Aantal bijeenkomsten").fill("2")
    await page.get_by_label("Locatie").fill("Huis van de Gemeenten")
    await page.get_by_label("Plaats", exact=True).fill("Den Haag")
    await page.get_by_role("button", name="Kringen samenstellen").click()

    # The page follows the worker: composing, then (reloaded by progress.js) the proposal with its circles.
    await expect(page.get_by_role("heading", name="Kring 2")).to_be_visible(timeout=60_000)
    await expect(page.get_by_role("status")).to_contain_text("Het voorstel is klaar")
    await look(page, "organisator leerkringen voorstel", shoot=True)
    # Twelve people, 5 to 7 a circle: two circles. Someone from the larger goes to the other (both stay in bounds).
    sizes = [await page.locator("table").nth(n).locator("tbody tr").count() for n in (0, 1)]
    larger = 0 if sizes[0] >= sizes[1] else 1
    row = page.locator("table").nth(larger).locator("tbody tr").first
    await row.get_by_label("Naar kring").select_option(str(2 - larger))
    await row.get_by_role("button", name="Verplaats").click()
    await expect(page.get_by_text("(vastgezet)")).to_be_visible()
    await page.get_by_role("button", name="Publiceren en de leden uitnodigen").click()
    await expect(page.get_by_role("status")).to_contain_text("Gepubliceerd", timeout=60_000)
    await look(page, "organisator leerkringen gepubliceerd")
    received = [m for m in await mails(mail_sink, 24, within=60) if TITLE in str(m.message["Subject"])]
    assert len(received) == 12 * 2, "every member gets every session in their calendar"
