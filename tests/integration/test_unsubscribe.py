"""List-Unsubscribe on mass invitations (issue 11): RFC 2369 `List-Unsubscribe` with an https link and RFC 8058
one-click `List-Unsubscribe-Post`; the link opens a page (GET never acts), its button and the mail client's
one-click POST both stop further mass invitations to the address. Walked with real workers and the SMTP sink."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from localdev.mailsink import MailSink
from services.app import create_app
from services.db import Connection
from services.participants import suppression
from services.settings import Settings
from tests.integration.invitation_helpers import (
    add_participants,
    batches_done,
    by_recipient,
    invite,
    mails,
    published_meeting,
)
from workers.testing import running_workers, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]
BASE = "https://leerkring.test"
PASTED = "losse.collega@gemeente.example.nl"


@pytest.fixture
async def browser(mail_settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(mail_settings), base_url=BASE) as client:
        yield client


async def test_one_click_and_the_page_stop_mass_invitations_to_the_address(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published_meeting(browser, vng)
    (member,) = await add_participants(conn, 1)
    async with running_workers(mail_settings):
        await invite(browser, vng, meeting["id"], groups=["wmo-consulent"], emails=[PASTED])
        received = by_recipient(await mails(mail_sink, 2))
        await wait_until(lambda: batches_done(conn, meeting["id"]))
    links = {}
    for address in (member, PASTED):
        message = received[address][0].message
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        found = re.fullmatch(r"<(https://leerkring\.test/uitschrijven/[^>]+)>", str(message["List-Unsubscribe"]))
        assert found, message["List-Unsubscribe"]
        assert address.split("@")[0] not in found.group(1), "nothing personal in the link"
        links[address] = found.group(1).removeprefix(BASE)

    # The member's mail client does the RFC 8058 one-click POST: no page, no cookie, no Origin.
    shown = await browser.get(links[member])
    assert shown.status_code == 200
    assert '<form method="post"' in shown.text
    assert await conn.fetchval("SELECT invitation_consent FROM participants WHERE email = $1", member), "GET: nothing"
    clicked = await browser.post(
        links[member],
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert clicked.status_code == 200, clicked.text
    assert not await conn.fetchval("SELECT invitation_consent FROM participants WHERE email = $1", member)
    # The pasted address (no participant) presses the button on the page.
    pressed = await browser.post(links[PASTED], headers={"Origin": BASE})
    assert pressed.status_code == 200
    assert "geen uitnodigingen meer" in pressed.text
    for address in (member, PASTED):
        assert await suppression.is_suppressed(conn, mail_settings.secret_key, address)
    assert (await browser.post(links[PASTED] + "x")).status_code == 404
    assert (await browser.get(re.sub(r"/\d+/", "/1/", links[PASTED]))).status_code == 404, "the token is per mail"

    # The next round of the same organiser leaves both out.
    later = await published_meeting(browser, vng, title="Tweede ronde")
    async with running_workers(mail_settings):
        batch = await invite(browser, vng, later["id"], groups=["wmo-consulent"], emails=[PASTED, member])
        await wait_until(lambda: batches_done(conn, later["id"]))
    progress = (await browser.get(batch["progress_url"], headers=vng)).json()
    assert (progress["counts"]["total"], progress["counts"]["skipped"]) == (0, 2)
    assert len(mail_sink.messages) == 2


async def test_the_unsubscribe_page_speaks_english_too(browser: Client, mail_settings: Settings) -> None:
    from services.invitations import unsubscribe

    link = unsubscribe.url(BASE, mail_settings.secret_key, 12345, PASTED, None).removeprefix(BASE)
    browser.cookies.set("leerkring_taal", "en")  # the language switch's cookie
    shown = await browser.get(link)
    assert shown.status_code == 200
    assert "No more invitations?" in shown.text
    assert "uitnodigingen" not in shown.text
    wrong = await browser.get(link + "x")
    assert (wrong.status_code, "Unknown link" in wrong.text) == (404, True), wrong.text
    browser.cookies.delete("leerkring_taal")
    assert "Geen uitnodigingen meer?" in (await browser.get(link)).text, "Dutch by default"


async def test_an_unsubscribe_link_still_works_after_retention_purged_its_invitation(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    """The invitation row goes 12 months after the meeting (services/retention); a mail kept longer still carries
    a link that must do what its page says. Purged at the controllable clock, then pressed."""
    from datetime import datetime, timedelta

    from services import links_signing
    from services.retention.service import purge

    meeting = await published_meeting(browser, vng)
    (member,) = await add_participants(conn, 1)
    async with running_workers(mail_settings):
        await invite(browser, vng, meeting["id"], groups=["wmo-consulent"], emails=[PASTED])
        received = by_recipient(await mails(mail_sink, 2))
        await wait_until(lambda: batches_done(conn, meeting["id"]))
    leave = {}
    for address in (member, PASTED):
        found = re.fullmatch(
            r"<https://leerkring\.test(/uitschrijven/[^>]+)>", str(received[address][0].message["List-Unsubscribe"])
        )
        assert found
        leave[address] = found.group(1)
        assert address.split("@")[0] not in leave[address]
    old_id = await conn.fetchval("SELECT id FROM invitations WHERE email = $1", PASTED)
    # A link as mailed before it carried what it needs (only the row id): made the old way.
    v1 = f"/uitschrijven/{old_id}/{links_signing.sign(mail_settings.secret_key, f'unsubscribe:{old_id}', kind='x')}"
    assert (await browser.get(v1)).status_code == 200, "while the row is there the old link works"

    ends = datetime.fromisoformat(meeting["ends_at"])
    result = await purge(conn, mail_settings, now=ends + timedelta(days=400))
    assert result.invitations == 2
    assert await conn.fetchval("SELECT count(*) FROM invitations") == 0

    for address in (member, PASTED):
        shown = await browser.get(leave[address])
        assert shown.status_code == 200
        assert '<form method="post"' in shown.text
        clicked = await browser.post(
            leave[address],
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert clicked.status_code == 200, clicked.text
        assert await suppression.is_suppressed(conn, mail_settings.secret_key, address), address
    assert not await conn.fetchval("SELECT invitation_consent FROM participants WHERE email = $1", member)

    # The old link names a row that is gone: its page says so instead of pretending.
    honest = await browser.get(v1)
    assert honest.status_code == 410, honest.text
    assert "te oud" in honest.text
    assert '<form method="post"' not in honest.text
    pressed = await browser.post(v1, headers={"Origin": BASE})
    assert pressed.status_code == 410
    assert "Afgemeld" not in pressed.text

    later = await published_meeting(browser, vng, title="Een jaar later")
    async with running_workers(mail_settings):
        batch = await invite(browser, vng, later["id"], groups=["wmo-consulent"], emails=[PASTED, member])
        await wait_until(lambda: batches_done(conn, later["id"]))
    progress = (await browser.get(batch["progress_url"], headers=vng)).json()
    assert (progress["counts"]["total"], progress["counts"]["skipped"]) == (0, 2)
