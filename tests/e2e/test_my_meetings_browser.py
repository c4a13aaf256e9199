"""Cancelling from "mijn bijeenkomsten" in a real browser: Anouk signs in with the link from the mail, cancels her
seat with the keyboard alone (the link on her list, the page that asks, the button), and Bram, first in line, takes
the seat with the button in the offer mail. axe-core on every page; the new pages photographed at phone and desktop
width."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import Browser, BrowserContext, expect

from localdev.mailsink import MailSink
from tests.api import published
from tests.e2e.browser import look
from tests.e2e.conftest import Site
from tests.e2e.test_participant_browser import link_in, mail_to, register_by_mail
from tests.e2e.test_web_access_browser import tab_to

TITLE = "Armoede en schulden: samen aan tafel"
ANOUK, BRAM = "anouk@gemeente.example.nl", "bram@gemeente.example.nl"


async def test_cancelling_from_my_meetings_gives_the_seat_to_the_next_in_line(
    site: Site, api: httpx.AsyncClient, person: BrowserContext, chromium: Browser, vng: dict[str, str],
    mail_sink: MailSink,
) -> None:  # fmt: skip
    start = (datetime.now(UTC) + timedelta(days=5)).replace(second=0, microsecond=0)
    end = start + timedelta(hours=2)
    meeting = await published(api, vng, title=TITLE, capacity=1, waitlist_mode="offer", reminders=[],
                              starts_at=start.isoformat(), ends_at=end.isoformat())  # fmt: skip
    page_url = f"/bijeenkomsten/{meeting['id']}"
    anouk = await person.new_page()
    await anouk.goto(page_url)
    await register_by_mail(anouk, site, mail_sink, ANOUK, "Anouk de Vries", 0)
    await expect(anouk.get_by_role("heading", level=1)).to_have_text("Je bent ingeschreven")
    bram_context = await chromium.new_context(base_url=site.base, locale="nl-NL")
    bram = await bram_context.new_page()
    await bram.goto(page_url)
    await register_by_mail(bram, site, mail_sink, BRAM, "Bram Bakker", 0, button="Zet me op de wachtlijst")
    await expect(bram.get_by_role("heading", level=1)).to_have_text("Je staat op de wachtlijst")
    await look(bram, "op de wachtlijst gezet")

    # Another day, another browser: Anouk signs in with the link from the mail.
    await person.clear_cookies()
    await anouk.goto("/inloggen")
    await look(anouk, "inloggen", shoot=True)
    await anouk.get_by_label("E-mailadres", exact=True).fill(ANOUK)
    await anouk.get_by_role("button", name="Stuur me een link").click()
    await expect(anouk.get_by_role("heading", level=1)).to_have_text("Kijk in je mail")
    await look(anouk, "inloggen: kijk in je mail")
    signin = await mail_to(mail_sink, ANOUK, 1, subject="Je persoonlijke link")
    await anouk.goto(link_in(signin, site.base, "/inloggen/"))
    await look(anouk, "inloggen met de link")
    await anouk.get_by_role("button", name="Open mijn pagina").click()
    await expect(anouk.get_by_role("heading", level=1)).to_have_text("Mijn bijeenkomsten")

    # With the keyboard alone: the cancel link of her meeting, the page that asks, the button.
    await tab_to(anouk, "ul.bijeenkomsten a[href^='/mijn/afmelden/']")
    await anouk.keyboard.press("Enter")
    await expect(anouk.get_by_role("heading", level=1)).to_have_text("Afmelden?")
    await expect(anouk.get_by_text(TITLE)).to_be_visible()
    await look(anouk, "afmelden vanuit mijn bijeenkomsten", shoot=True)
    await tab_to(anouk, "#inhoud button[type=submit]")
    await anouk.keyboard.press("Enter")
    await expect(anouk.get_by_role("status")).to_contain_text(f"Je bent afgemeld voor {TITLE}")
    await expect(anouk.locator("a[href^='/mijn/afmelden/']")).to_have_count(0)
    await look(anouk, "afgemeld vanuit mijn bijeenkomsten", shoot=True)
    cancelled = await mail_to(mail_sink, ANOUK, 1, subject="Afgemeld")
    assert TITLE in str(cancelled.message["Subject"])

    # Bram, first in line, is offered the seat by mail and takes it with the mail's button.
    offer = await mail_to(mail_sink, BRAM, 1, subject="Er is een plek voor je vrij")
    await bram.goto(link_in(offer, site.base, "/aanbod/"))
    await expect(bram.get_by_role("heading", level=1)).to_have_text("Plek aannemen")
    await look(bram, "aanbod uit de mail", shoot=True)
    await bram.get_by_role("button", name="Ja, ik neem de plek").click()
    await expect(bram.get_by_role("heading", level=1)).to_have_text("Je bent ingeschreven")
    await look(bram, "plek aangenomen")
    await bram_context.close()
