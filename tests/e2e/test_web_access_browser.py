"""Keyboard only, in English, and a check that the accessibility check itself can fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, expect

from localdev.mailsink import MailSink
from tests.api import published
from tests.e2e.browser import AccessibilityProblems, axe_check, look
from tests.e2e.conftest import Site
from tests.e2e.test_participant_browser import link_in, mail_to


async def tab_to(page: Page, selector: str, most: int = 40) -> None:
    """Press Tab until `selector` has the focus (as someone without a mouse does); fails after `most` presses."""
    for _ in range(most):
        await page.keyboard.press("Tab")
        if await page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


async def test_registering_with_the_keyboard_alone(
    site: Site, api: httpx.AsyncClient, person: BrowserContext, vng: dict[str, str], mail_sink: MailSink
) -> None:
    start = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    meeting = await published(api, vng, title="Toetsenbord en inclusie", starts_at=start.isoformat(),
                              ends_at=(start + timedelta(hours=2)).isoformat())  # fmt: skip
    page = await person.new_page()
    await page.goto(f"/bijeenkomsten/{meeting['id']}")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Naar de inhoud")).to_be_focused()
    await page.keyboard.press("Enter")
    assert page.url.endswith("#inhoud")

    await tab_to(page, "#veld-email")
    await page.keyboard.type("kees@gemeente.example.nl")
    await page.keyboard.press("Tab")
    await expect(page.locator("#veld-name")).to_be_focused()
    await page.keyboard.type("Kees Toetsenbord")
    await page.keyboard.press("Tab")
    await expect(page.locator("#veld-organisation_code")).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Tab")
    await expect(page.locator("#veld-professional_group")).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Tab")
    await expect(page.locator("#veld-invitation_consent")).to_be_focused()
    await page.keyboard.press("Space")
    await tab_to(page, "#inhoud button[type=submit]", most=3)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bijna klaar: kijk in je mail")

    mail = await mail_to(mail_sink, "kees@gemeente.example.nl", 1)
    await page.goto(link_in(mail, site.base, "/bevestigen/"))
    await expect(page.locator("#veld-organisation_code")).not_to_have_value("")
    await expect(page.locator("#veld-invitation_consent")).to_be_checked()
    await tab_to(page, "#inhoud button[type=submit]")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Je bent ingeschreven")


async def test_the_pages_in_english(site: Site, api: httpx.AsyncClient, person: BrowserContext, vng: dict[str, str]):
    meeting = await published(api, vng, title="Wmo in English")
    page = await person.new_page()
    await page.goto("/agenda")
    await page.get_by_role("button", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Agenda")
    await expect(page.get_by_role("button", name="Show meetings")).to_be_visible()
    await look(page, "agenda english", shoot=True)
    await page.get_by_role("link", name="Wmo in English").click()
    await expect(page.get_by_role("heading", name="About the meeting")).to_be_visible()
    await expect(page.get_by_text("30 of 30 left")).to_be_visible()
    assert meeting["id"] in page.url
    when = await page.locator("dl.gegevens dd").first.inner_text()
    assert any(day in when for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))
    await page.get_by_role("button", name="Register me").click()
    await expect(page.get_by_role("heading", name="Please check what you entered")).to_be_focused()
    await expect(page.get_by_text("Enter a valid e-mail address").first).to_be_visible()
    await look(page, "meeting english errors")
    await page.get_by_role("button", name="Nederlands").click()
    await expect(page.locator("html")).to_have_attribute("lang", "nl")


async def test_the_accessibility_check_finds_a_serious_problem(person: BrowserContext) -> None:
    page = await person.new_page()
    await page.set_content('<html lang="nl"><body><main><img src="x.png"><input type="text"></main></body></html>')
    with pytest.raises(AccessibilityProblems, match="image-alt"):
        await axe_check(page, "a page with faults")
