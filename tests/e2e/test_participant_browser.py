"""The participant's journey in a real browser (Debian's Chromium through Playwright), as a person walks it:
find the meeting in the agenda, register, take the link out of the mail in the SMTP sink and confirm, be put on the
waiting list, be offered the seat when someone cancels and take it, subscribe to the calendar, check in at the
door, evaluate, change the profile, download the data and be deleted. axe-core runs on every page on the way."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page, expect

from localdev.mailsink import MailSink, ReceivedMail
from services.db import Connection
from services.evaluations.service import sweep
from tests.api import published
from tests.e2e.browser import look
from tests.e2e.conftest import Site
from workers.testing import no_pending_jobs, wait_until

TITLE = "Schuldhulp in de wijk: intervisie"


def text_of(mail: ReceivedMail) -> str:
    message = mail.message
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def mail_to(sink: MailSink, address: str, count: int, subject: str = "") -> ReceivedMail:
    """The latest mail to `address` once it has `count` (whose subject contains `subject`)."""

    def matching() -> list[ReceivedMail]:
        return [
            m for m in sink.messages if address in m.rcpt_tos and subject.lower() in str(m.message["Subject"]).lower()
        ]

    await wait_until(lambda: _count_at_least(matching, count), within=30)
    return matching()[-1]


async def _count_at_least(found: Any, count: int) -> bool:
    return len(found()) >= count


def link_in(mail: ReceivedMail, base: str, path: str) -> str:
    found = re.search(rf"{re.escape(base + path)}[^\s<>\"]*", text_of(mail))
    assert found, f"no {path} link in:\n{text_of(mail)}"
    return found.group(0)


async def fill_profile(page: Page, email: str, name: str) -> None:
    await page.get_by_label("E-mailadres", exact=True).fill(email)
    await page.get_by_label("Naam", exact=True).fill(name)
    await page.get_by_label("Gemeente of organisatie", exact=True).select_option("GM0518")
    await page.get_by_label("Beroepsgroep", exact=True).select_option("wmo-consulent")


async def register_by_mail(
    person: Page, site: Site, sink: MailSink, email: str, name: str, mails_before: int, button: str = "Schrijf me in"
) -> None:
    """The meeting page's form, the confirmation mail, the link out of it and the button behind it."""
    await fill_profile(person, email, name)
    await person.get_by_role("button", name=button).click()
    await expect(person.get_by_role("heading", level=1)).to_have_text("Bijna klaar: kijk in je mail")
    await look(person, "bijna klaar")
    mail = await mail_to(sink, email, mails_before + 1)
    await person.goto(link_in(mail, site.base, "/bevestigen/"))
    await look(person, "bevestigen")
    await expect(person.get_by_label("Naam", exact=True)).to_have_value(name)
    await person.get_by_role("button", name="Ja, schrijf me in").click()


async def test_a_participant_finds_registers_waits_takes_the_seat_subscribes_checks_in_and_evaluates(
    site: Site,
    api: httpx.AsyncClient,
    person: BrowserContext,
    chromium: Browser,
    vng: dict[str, str],
    conn: Connection,
    mail_sink: MailSink,
    tmp_path: Path,
) -> None:
    start = (datetime.now(UTC) + timedelta(minutes=10)).replace(second=0, microsecond=0)
    end = start + timedelta(hours=2)
    meeting = await published(
        api, vng, title=TITLE, description="Casussen over schulden, met de wijkteams.", capacity=1,
        starts_at=start.isoformat(), ends_at=end.isoformat(), waitlist_mode="offer", reminders=[],
    )  # fmt: skip
    await published(api, vng, title="Jeugdhulp en onderwijs")
    mid = meeting["id"]

    # Anouk finds it in the agenda by a word from its description.
    anouk = await person.new_page()
    await anouk.goto("/agenda")
    await look(anouk, "agenda", shoot=True)
    await expect(anouk.get_by_role("link", name="Jeugdhulp en onderwijs")).to_be_visible()
    await anouk.get_by_label("Zoek", exact=True).fill("schulden")
    await anouk.get_by_role("button", name="Toon bijeenkomsten").click()
    await expect(anouk.get_by_role("link", name="Jeugdhulp en onderwijs")).to_have_count(0)
    await look(anouk, "agenda gefilterd")
    await anouk.get_by_role("link", name=TITLE).click()
    await expect(anouk.get_by_role("heading", level=1)).to_have_text(TITLE)
    await expect(anouk.get_by_text("nog 1 van de 1 vrij")).to_be_visible()
    await look(anouk, "bijeenkomst", shoot=True)

    # A form sent empty: the summary takes focus, links to the field, and the message is at the field.
    await anouk.get_by_role("button", name="Schrijf me in").click()
    summary = anouk.get_by_role("heading", name="Controleer wat je hebt ingevuld")
    await expect(summary).to_be_focused()
    await expect(anouk.locator("#veld-email")).to_have_attribute("aria-invalid", "true")
    assert "fout-email" in (await anouk.locator("#veld-email").get_attribute("aria-describedby") or "")
    await look(anouk, "bijeenkomst met fouten", shoot=True)
    await anouk.get_by_role("alert").get_by_role("link").first.click()
    await expect(anouk.locator("#veld-email")).to_be_focused()

    await register_by_mail(anouk, site, mail_sink, "anouk@gemeente.example.nl", "Anouk de Vries", 0)
    await expect(anouk.get_by_role("heading", level=1)).to_have_text("Je bent ingeschreven")
    await look(anouk, "ingeschreven")

    # Bram comes second: the meeting is full, he waits first in line.
    bram_context = await chromium.new_context(base_url=site.base, locale="nl-NL", accept_downloads=True)
    bram = await bram_context.new_page()
    await bram.goto(f"/bijeenkomsten/{mid}")
    await expect(bram.get_by_text("vol; je kunt op de wachtlijst")).to_be_visible()
    await register_by_mail(  # a full meeting: the button says what it does
        bram, site, mail_sink, "bram@gemeente.example.nl", "Bram Bakker", 0, button="Zet me op de wachtlijst"
    )
    await expect(bram.get_by_role("heading", level=1)).to_have_text("Je staat op de wachtlijst")
    await look(bram, "op de wachtlijst gezet")
    await bram.goto(f"/bijeenkomsten/{mid}")
    await expect(bram.locator("#mijn-plaats")).to_contain_text("op plaats 1")
    await look(bram, "wachtlijst", shoot=True)

    # Anouk cannot come after all; Bram is offered the seat by mail and takes it on the meeting page.
    await anouk.goto(f"/bijeenkomsten/{mid}")
    await anouk.get_by_role("button", name="Afmelden").click()
    await expect(anouk.get_by_role("status")).to_contain_text("Je bent afgemeld")
    await look(anouk, "afgemeld op de bijeenkomst")
    await mail_to(mail_sink, "bram@gemeente.example.nl", 3)  # confirm link, waiting list, the offer
    await bram.goto(f"/bijeenkomsten/{mid}")
    await expect(bram.locator("#mijn-plaats")).to_contain_text("Er is een plek voor je vrij")
    await look(bram, "aanbod", shoot=True)
    await bram.get_by_role("button", name="Ja, ik neem de plek").click()
    await expect(bram.get_by_role("heading", level=1)).to_have_text("Je bent ingeschreven")
    await look(bram, "plek aangenomen")

    # His own page: the calendar block gives a subscription, and a new link retires the old one.
    await bram.goto("/mijn")
    await expect(bram.get_by_role("link", name=TITLE)).to_be_visible()
    await look(bram, "mijn bijeenkomsten", shoot=True)
    webcal = await bram.get_by_role("link", name=re.compile("Abonneren in je agenda-programma")).get_attribute("href")
    google = await bram.get_by_role("link", name="Toevoegen aan Google Agenda").get_attribute("href")
    feed = await bram.get_by_label("Of kopieer het adres naar je agenda-programma").input_value()
    assert webcal
    assert webcal.startswith("webcal://")
    assert google
    assert google.startswith("https://calendar.google.com/")
    assert webcal.removeprefix("webcal://") == feed.removeprefix("http://").removeprefix("https://")
    calendar = await api.get(feed)
    assert calendar.status_code == 200
    assert TITLE in calendar.text
    assert "BEGIN:VCALENDAR" in calendar.text
    await bram.get_by_role("button", name="Maak een nieuwe agenda-link").click()
    await expect(bram.get_by_role("status")).to_contain_text("nieuwe agenda-link")
    await look(bram, "nieuwe agenda-link")
    new_feed = await bram.get_by_label("Of kopieer het adres naar je agenda-programma").input_value()
    assert new_feed != feed
    assert (await api.get(feed)).status_code in (404, 410), "the old link no longer opens"
    assert (await api.get(new_feed)).status_code == 200

    # At the door: the code on the screen, typed on the phone.
    code = (await api.get(f"/api/v1/meetings/{mid}/checkin", headers=vng)).json()["code"]
    await bram.get_by_role("link", name="Inchecken").click()
    await expect(bram.get_by_role("heading", name="Inchecken", exact=True)).to_be_visible()
    await look(bram, "inchecken", shoot=True)
    await bram.get_by_label("Incheckcode").fill(code)
    await bram.get_by_role("button", name="Inchecken").click()
    await expect(bram.get_by_role("status")).to_contain_text("Je bent ingecheckt")
    await look(bram, "ingecheckt")
    await bram.goto(f"/inchecken/{mid}")  # the QR scanned again: checked in, not the code form once more
    await expect(bram.get_by_role("status")).to_contain_text("Je bent ingecheckt")
    await expect(bram.get_by_label("Incheckcode")).to_have_count(0)

    # Two hours after the end the evaluation mail comes; its form is answered once.
    await wait_until(lambda: no_pending_jobs(conn), within=30)
    async with conn.transaction():
        assert await sweep(conn, now=end + timedelta(hours=2, minutes=1)) == 1
    asked = await mail_to(mail_sink, "bram@gemeente.example.nl", 1, subject="Hoe was het?")
    await bram.goto(link_in(asked, site.base, "/evaluatie/"))
    await look(bram, "evaluatie", shoot=True)
    await bram.get_by_role("button", name="Verstuur mijn antwoorden").click()
    await expect(bram.get_by_role("heading", name="Controleer wat je hebt ingevuld")).to_be_focused()
    await look(bram, "evaluatie met fouten")
    await bram.get_by_role("group", name="Welk rapportcijfer").get_by_label("8", exact=True).check()
    await bram.locator("#veld-bruikbaar").get_by_label("4", exact=True).check()
    await bram.get_by_label("Wat ga je toepassen in je werk?").fill("Vaker samen met de schuldhulp op huisbezoek")
    await bram.get_by_role("group", name="Zou je deze bijeenkomst aanraden").get_by_label("Ja", exact=True).check()
    await bram.get_by_role("button", name="Verstuur mijn antwoorden").click()
    await expect(bram.get_by_role("heading", level=1)).to_have_text("Bedankt!")
    await look(bram, "evaluatie ingestuurd")

    # Profile, data, and goodbye.
    await bram.goto("/mijn")
    await bram.get_by_label("Naam", exact=True).fill("Bram Bakker-de Wit")
    await bram.get_by_role("button", name="Gegevens opslaan").click()
    await expect(bram.get_by_role("status")).to_contain_text("Je gegevens zijn opgeslagen")
    await look(bram, "gegevens opgeslagen")
    async with bram.expect_download() as download_info:
        await bram.get_by_role("link", name="Download al mijn gegevens").click()
    download = await download_info.value
    saved = tmp_path / "mijn-gegevens.json"
    await download.save_as(saved)
    data = json.loads(saved.read_text())
    assert "bram@gemeente.example.nl" in json.dumps(data)
    assert "Bram Bakker-de Wit" in json.dumps(data)
    await bram.get_by_role("button", name="Verwijder mij").click()
    await expect(bram.get_by_text("Vink aan dat je echt alles wilt laten verwijderen").first).to_be_visible()
    await look(bram, "verwijderen met fout")
    await bram.get_by_label("Ja, verwijder al mijn gegevens").check()
    await bram.get_by_role("button", name="Verwijder mij").click()
    await expect(bram.get_by_role("heading", level=1)).to_have_text("Je gegevens zijn verwijderd")
    await look(bram, "verwijderd")
    await bram.goto("/mijn")
    await expect(bram.get_by_role("heading", level=1)).to_have_text("Log in om verder te gaan")
    await bram_context.close()
