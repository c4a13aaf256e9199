"""The participant's journey, walked the way a person does it: the mail arrives in the SMTP sink, the link is taken
out of the mail, opened (GET shows a button), the button pressed (POST), and the next mail arrives. Real
PostgreSQL, Redis, SMTP and workers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from localdev.mailsink import MailSink, ReceivedMail
from services.app import create_app
from services.db import Connection
from services.settings import Settings
from tests.api import published
from tests.csrf import like_a_browser
from tests.factories import participant_body
from tests.integration.invitation_helpers import mails
from tests.invitation_checks import parse_imip
from workers.jobs.invitations import UPDATE_TASK
from workers.testing import running_workers, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]
BASE = "https://leerkring.test"


@pytest.fixture
async def browser(mail_settings: Settings) -> AsyncIterator[Client]:
    """A client on the public address, so links from the mails open as they are and its cookies stay (Secure)."""
    async with AsyncTestClient(app=create_app(mail_settings), base_url=BASE) as client:
        yield like_a_browser(client, mail_settings.secret_key)


def text_of(mail: ReceivedMail) -> str:
    message = mail.message
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link(mail: ReceivedMail, path: str) -> str:
    """The first link in the mail's text that starts with BASE + path."""
    found = re.search(rf"{re.escape(BASE + path)}[^\s<>\"]*", text_of(mail))
    assert found, f"no {path} link in:\n{text_of(mail)}"
    return found.group(0)


def to(received: list[ReceivedMail], address: str) -> list[ReceivedMail]:
    return [m for m in received if address in m.rcpt_tos]


def subjects(received: list[ReceivedMail]) -> list[str]:
    return [str(m.message["Subject"]) for m in received]


async def press(browser: Client, url: str, **form: str) -> Any:
    """Open the page behind a link (it must show a form and not act), then press its button."""
    shown = await browser.get(url)
    assert shown.status_code == 200, shown.text
    assert '<form method="post"' in shown.text
    return await browser.post(url, data=form or None)


async def staff_participant(browser: Client, vng: dict[str, str], n: int) -> dict[str, Any]:
    created = await browser.post("/api/v1/participants", json=participant_body(n), headers=vng)
    assert created.status_code in (200, 201), created.text
    return created.json()  # type: ignore[no-any-return]


async def test_a_sign_in_link_from_the_mail_opens_my_page_once(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    await staff_participant(browser, vng, 1)
    async with running_workers(mail_settings):
        asked = await browser.post("/inloggen", data={"email": "Deelnemer1@gemeente.example.nl"})
        assert asked.status_code == 202
        unknown = await browser.post("/inloggen", data={"email": "niemand@gemeente.example.nl"})
        assert (unknown.status_code, unknown.text.count("ontvang je")) == (202, asked.text.count("ontvang je"))
        (mail,) = await mails(mail_sink, 1)
    assert subjects([mail]) == ["Je persoonlijke link voor Leerkring"]
    assert mail.rcpt_tos == ("deelnemer1@gemeente.example.nl",)
    assert "deelnemer1" not in link(mail, "/inloggen/"), "the link carries no address"
    # Nothing was made for the unknown address, and nothing is mailed there.
    assert await conn.fetchval("SELECT count(*) FROM participants WHERE email LIKE 'niemand%'") == 0
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE type = 'participant.link_requested'") == 1

    signin = link(mail, "/inloggen/")
    assert (await browser.get("/mijn")).status_code == 401, "not signed in yet"
    opened = await press(browser, signin)
    assert opened.status_code == 200, opened.text  # followed the 303 to /mijn
    assert "Mijn bijeenkomsten" in opened.text
    assert "deelnemer1@gemeente.example.nl" in opened.text
    again = await browser.post(signin)
    assert again.status_code == 410
    assert "al gebruikt" in again.text
    assert "Een nieuwe link aanvragen" in again.text


async def test_an_anonymous_registration_counts_only_once_the_mailed_link_is_confirmed(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published(browser, vng, capacity=5)
    page_url = f"/bijeenkomsten/{meeting['id']}"
    async with running_workers(mail_settings):
        page = await browser.get(page_url)
        assert page.status_code == 200
        assert meeting["title"] in page.text
        bad = await browser.post(f"{page_url}/inschrijven", data={"email": "geen-adres", "name": "Anouk"})
        assert bad.status_code == 422
        assert 'href="#veld-email"' in bad.text, "the error summary links to the field"
        assert 'aria-invalid="true"' in bad.text
        person = {
            "email": "anouk.devries@gemeente.example.nl",
            "name": "Anouk de Vries",
            "organisation_code": "GM0363",
            "professional_group": "wmo-consulent",
            "invitation_consent": "ja",
        }
        asked = await browser.post(f"{page_url}/inschrijven", data=person)
        assert asked.status_code == 202, asked.text
        assert "kijk in je mail" in asked.text.lower()
        # Nothing counts yet: no seat, no registration, the person is not proven.
        assert await conn.fetchval("SELECT count(*) FROM registrations") == 0
        assert await conn.fetchval("SELECT confirmed_count FROM meetings WHERE id = $1", UUID(meeting["id"])) == 0
        (request_mail,) = await mails(mail_sink, 1)
        assert subjects([request_mail]) == [f"Bevestig je inschrijving: {meeting['title']}"]
        assert "Beste collega" in text_of(request_mail), "an unproven name is not echoed"

        confirm = link(request_mail, "/bevestigen/")
        shown = await browser.get(confirm)
        assert 'value="Anouk de Vries"' in shown.text, "the details given are shown to check"
        done = await browser.post(confirm, data={**person, "name": "Anouk de Vries-Jansen"})
        assert done.status_code == 200, done.text
        assert "Je bent ingeschreven" in done.text
        received = await mails(mail_sink, 2)
    confirmation = received[1]
    parsed = parse_imip(confirmation.raw, method="REQUEST", to="anouk.devries@gemeente.example.nl")
    assert parsed.partstat == "ACCEPTED"
    assert "Beste Anouk de Vries-Jansen" in parsed.text
    row = await conn.fetchrow(
        "SELECT name, organisation_code, professional_group, invitation_consent, verified_at FROM participants"
    )
    assert (row["name"], row["organisation_code"], row["professional_group"]) == (
        "Anouk de Vries-Jansen",
        "GM0363",
        "wmo-consulent",
    )
    assert row["invitation_consent"] is True
    assert row["verified_at"] is not None
    # The link used twice is harmless.
    twice = await browser.post(confirm)
    assert twice.status_code == 200
    assert await conn.fetchval("SELECT count(*) FROM registrations") == 1

    # Every participant mail carries the manage link and the feed link: both open.
    manage = link(confirmation, "/mijn?token=")
    browser.cookies.clear()
    mine = await browser.get(manage)
    assert mine.status_code == 200, mine.text
    assert str(mine.url).endswith("/mijn"), "the token leaves the address bar"
    assert meeting["title"] in mine.text
    feed = await browser.get(link(confirmation, "/feeds/p/"))
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    assert "webcal://leerkring.test/feeds/p/" in text_of(confirmation)
    meeting_page = await browser.get(link(confirmation, "/bijeenkomsten/"))
    assert meeting_page.status_code == 200
    assert "Je bent ingeschreven" in meeting_page.text


async def test_waitlisted_then_promoted_when_someone_cancels_from_their_mail(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published(browser, vng, capacity=1)
    url = f"/api/v1/meetings/{meeting['id']}/registrations"
    a, b = "deelnemer1@gemeente.example.nl", "deelnemer2@gemeente.example.nl"
    async with running_workers(mail_settings):
        for n in (1, 2):
            answer = await browser.post(url, json={"participant": participant_body(n)}, headers=vng)
            assert answer.status_code == 201
        first = await mails(mail_sink, 2)
        assert subjects(to(first, b)) == [f"Je staat op de wachtlijst: {meeting['title']}"]
        assert "op plaats 1" in text_of(to(first, b)[0])
        assert "ben je meteen ingeschreven" in text_of(to(first, b)[0])
        # A cannot come after all: the cancel link in the confirmation, then the button.
        cancelled = await press(browser, link(to(first, a)[0], "/ik-kan-niet/"))
        assert cancelled.status_code == 200
        assert "afgemeld" in cancelled.text
        received = await mails(mail_sink, 4)
    cancel = parse_imip(to(received, a)[1].raw, method="CANCEL", to=a)
    assert cancel.status == "CANCELLED"
    promoted = to(received, b)[1]
    parsed = parse_imip(promoted.raw, method="REQUEST", to=b)
    assert parsed.partstat == "ACCEPTED"
    assert str(promoted.message["Subject"]).startswith("Er is een plek vrij")
    assert [len(to(received, a)), len(to(received, b))] == [2, 2], "each mail exactly once"
    regs = await conn.fetch("SELECT status FROM registrations ORDER BY n")
    assert [r["status"] for r in regs] == ["cancelled", "confirmed"]
    promoted_id = await conn.fetchval("SELECT id FROM registrations WHERE status = 'confirmed'")
    mine = await browser.get(f"/api/v1/registrations/{promoted_id}", headers=vng)
    assert mine.json()["position"] is None, "a promoted person no longer carries a waiting-list position"


async def test_an_offered_seat_is_taken_from_the_mail_and_an_unanswered_one_passes_on(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published(browser, vng, capacity=1, waitlist_mode="offer", offer_hours=24)
    url = f"/api/v1/meetings/{meeting['id']}/registrations"
    emails = [f"deelnemer{n}@gemeente.example.nl" for n in range(4)]
    async with running_workers(mail_settings):
        regs = []
        for n in range(4):
            answer = await browser.post(url, json={"participant": participant_body(n)}, headers=vng)
            regs.append(answer.json())
        await mails(mail_sink, 4)  # one confirmation, three waiting-list mails
        await browser.post(f"/api/v1/registrations/{regs[0]['id']}/cancel", headers=vng)
        received = await mails(mail_sink, 6)
        (offer,) = [m for m in to(received, emails[1]) if "plek voor je vrij" in str(m.message["Subject"])]
        assert re.search(r"tot \d{1,2} \w+ \d{4} om \d\d:\d\d", text_of(offer)), "the deadline in Dutch local time"
        # The second in line lets the offer lapse: the deadline passes, the sweep passes the seat on.
        await conn.execute(
            "UPDATE registrations SET offer_expires_at = now() - interval '1 second' WHERE id = $1",
            UUID(regs[1]["id"]),
        )
        received = await mails(mail_sink, 8)
        expired = [m for m in to(received, emails[1]) if "verlopen" in str(m.message["Subject"])]
        assert len(expired) == 1
        (offer_c,) = [m for m in to(received, emails[2]) if "plek voor je vrij" in str(m.message["Subject"])]
        # The third takes it from the mail: the accept page, then the button.
        taken = await press(browser, link(offer_c, "/aanbod/"))
        assert taken.status_code == 200, taken.text
        assert "Je bent ingeschreven" in taken.text
        received = await mails(mail_sink, 9)
    confirmation = to(received, emails[2])[-1]
    assert parse_imip(confirmation.raw, method="REQUEST", to=emails[2]).partstat == "ACCEPTED"
    statuses = [r["status"] for r in await conn.fetch("SELECT status FROM registrations ORDER BY n")]
    assert statuses == ["cancelled", "cancelled", "confirmed", "waitlisted"]
    assert len(received) == 9, "each state change told once"


async def test_check_in_from_the_qr_code_needs_my_link(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=10)
    meeting = await published(
        browser, vng, starts_at=soon.isoformat(), ends_at=(soon + timedelta(hours=2)).isoformat(), capacity=5
    )
    async with running_workers(mail_settings):
        answer = await browser.post(
            f"/api/v1/meetings/{meeting['id']}/registrations", json={"participant": participant_body(1)}, headers=vng
        )
        assert answer.status_code == 201
        (confirmation,) = await mails(mail_sink, 1)
    info = (await browser.get(f"/api/v1/meetings/{meeting['id']}/checkin", headers=vng)).json()
    qr_page = info["url"].removeprefix(BASE)
    anonymous = await browser.get(qr_page)
    assert anonymous.status_code == 200
    assert "log in met een link" in anonymous.text
    await browser.get(link(confirmation, "/mijn?token="))  # signs this browser in
    shown = await browser.get(qr_page)
    assert f'value="{info["code"]}"' in shown.text, "the code from the QR code is filled in"
    wrong = await browser.post(qr_page.split("?")[0], data={"code": "AAAAAA"})
    assert wrong.status_code == 422
    done = await browser.post(qr_page.split("?")[0], data={"code": info["code"]})
    assert "Je bent ingecheckt" in done.text
    assert await conn.fetchval("SELECT status FROM attendance") == "attended"


async def test_pages_refuse_forms_from_other_sites_and_unknown_links(browser: Client, vng: dict[str, str]) -> None:
    meeting = await published(browser, vng)
    foreign = await browser.post(
        f"/bijeenkomsten/{meeting['id']}/inschrijven",
        data={"email": "x@gemeente.example.nl", "name": "X"},
        headers={"Origin": "https://kwaadaardig.example"},
    )
    assert foreign.status_code == 403
    assert (await browser.get("/bevestigen/lkp_onbekend_onbekend_onbekend")).status_code == 404
    assert (await browser.get("/inloggen/lkp_onbekend_onbekend_onbekend")).status_code == 404
    assert (await browser.get("/bijeenkomsten/00000000-0000-0000-0000-000000000000")).status_code == 404


async def test_an_invitee_who_registers_by_another_route_shows_as_registered(
    browser: Client, vng: dict[str, str], mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published(browser, vng)
    invitations = f"/api/v1/meetings/{meeting['id']}/invitations"
    async with running_workers(mail_settings):
        batch = (
            await browser.post(invitations, json={"emails": ["Els <els@gemeente.example.nl>"]}, headers=vng)
        ).json()
        (invitation,) = await mails(mail_sink, 1)
        # She uses the meeting page behind "Meer informatie", not the invitation's own button.
        page = link(invitation, "/bijeenkomsten/")
        asked = await browser.post(f"{page}/inschrijven", data={"email": "els@gemeente.example.nl", "name": "Els"})
        assert asked.status_code == 202
        request = (await mails(mail_sink, 2))[1]
        assert (await browser.post(link(request, "/bevestigen/"))).status_code == 200
        await mails(mail_sink, 3)
    invitees = (await browser.get(f"{invitations}/{batch['batch']['id']}/invitees", headers=vng)).json()["items"]
    assert [(i["email"], i["response"]) for i in invitees] == [("els@gemeente.example.nl", "registered")]


async def test_my_page_from_the_mail_link_edits_rotates_downloads_logs_out_and_erases(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published(browser, vng, capacity=1)
    url = f"/api/v1/meetings/{meeting['id']}/registrations"
    async with running_workers(mail_settings):
        for n in (1, 2):
            assert (await browser.post(url, json={"participant": participant_body(n)}, headers=vng)).status_code == 201
        received = await mails(mail_sink, 2)
        mine = to(received, "deelnemer1@gemeente.example.nl")[0]
        old_manage, old_feed = link(mine, "/mijn?token="), link(mine, "/feeds/p/")
        page = await browser.get(old_manage)
        assert "Op de wachtlijst" not in page.text
        assert meeting["title"] in page.text

        bad = await browser.post("/mijn/gegevens", data={"name": "", "organisation_code": "GM0363"})
        assert bad.status_code == 422
        assert "Vul je naam in" in bad.text
        saved = await browser.post(
            "/mijn/gegevens", data={"name": "Nieuwe Naam", "organisation_code": "GM0363", "invitation_consent": "ja"}
        )
        assert "Je gegevens zijn opgeslagen" in saved.text
        row = await conn.fetchrow(
            "SELECT name, organisation_code, invitation_consent FROM participants WHERE email = $1",
            "deelnemer1@gemeente.example.nl",
        )
        assert tuple(row) == ("Nieuwe Naam", "GM0363", True)

        rotated = await browser.post("/mijn/agenda-link")
        assert "nieuwe agenda-link" in rotated.text
        assert (await browser.get(old_feed)).status_code == 404, "the old feed link stopped working"
        download = await browser.get("/mijn/gegevens.json")
        assert download.headers["content-disposition"].startswith("attachment")
        assert download.json()["participant"]["name"] == "Nieuwe Naam"

        out = await browser.post("/mijn/uitloggen")
        assert "overal uitgelogd" in out.text
        assert (await browser.get("/mijn")).status_code == 401
        assert (await browser.get(old_manage)).status_code == 410, "links in earlier mails stop working"

        # Back in through a fresh sign-in link, then: delete me. The seat goes to the next in line.
        await browser.post("/inloggen", data={"email": "deelnemer1@gemeente.example.nl"})
        received = await mails(mail_sink, 3)
        await press(browser, link(received[2], "/inloggen/"))
        refused = await browser.post("/mijn/verwijderen", data={})
        assert refused.status_code == 422, "erasure needs the box ticked"
        erased = await browser.post("/mijn/verwijderen", data={"bevestig": "ja"})
        assert "Je gegevens zijn verwijderd" in erased.text
        received = await mails(mail_sink, 4)
    promoted = to(received, "deelnemer2@gemeente.example.nl")[-1]
    assert str(promoted.message["Subject"]).startswith("Er is een plek vrij")
    assert await conn.fetchval("SELECT count(*) FROM participants WHERE email LIKE 'deelnemer1%'") == 0


async def test_update_and_cancellation_mails_carry_my_own_links_and_they_open(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published(browser, vng)
    url = f"/api/v1/meetings/{meeting['id']}"
    me = "deelnemer1@gemeente.example.nl"
    async with running_workers(mail_settings):
        registered = await browser.post(f"{url}/registrations", json={"participant": participant_body(1)}, headers=vng)
        assert registered.status_code == 201
        await mails(mail_sink, 1)  # the confirmation, with the calendar REQUEST
        start = datetime.fromisoformat(meeting["starts_at"]) + timedelta(hours=1)
        moved = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat()}
        assert (await browser.patch(url, json=moved, headers=vng)).status_code == 200
        # The update mail waits out its debounce; let it go now.
        await wait_until(lambda: conn.fetchval("SELECT count(*) = 1 FROM scheduled_tasks WHERE kind = $1", UPDATE_TASK))
        await conn.execute("UPDATE scheduled_tasks SET due_at = now() WHERE kind = $1", UPDATE_TASK)
        update = to(await mails(mail_sink, 2), me)[-1]
        assert str(update.message["Subject"]).startswith("Gewijzigd: ")
        page = await browser.get(link(update, "/mijn?token="))
        assert page.status_code == 200, page.text
        assert meeting["title"] in page.text
        feed = await browser.get(link(update, "/feeds/p/"))
        assert feed.status_code == 200
        assert "BEGIN:VCALENDAR" in feed.text
        cancelled = await browser.post(f"{url}/cancel", json={"reason": "De zaal is niet beschikbaar"}, headers=vng)
        assert cancelled.status_code == 200
        cancel = to(await mails(mail_sink, 3), me)[-1]
        assert str(cancel.message["Subject"]).startswith("Geannuleerd: ")
    async with AsyncTestClient(app=create_app(mail_settings), base_url=BASE) as elsewhere:  # another browser
        assert (await elsewhere.get(link(cancel, "/mijn?token="))).status_code == 200, "its own manage link opens"
        assert (await elsewhere.get(link(cancel, "/feeds/p/"))).status_code == 200
    assert link(cancel, "/mijn?token=") != link(update, "/mijn?token="), "a manage link per mail"


async def test_an_offer_opened_after_the_meeting_was_cancelled_says_it_is_cancelled(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published(browser, vng, capacity=2, waitlist_mode="offer", offer_hours=24)
    url = f"/api/v1/meetings/{meeting['id']}/registrations"
    dutch, english = "deelnemer3@gemeente.example.nl", "deelnemer4@gemeente.example.nl"
    async with running_workers(mail_settings):
        regs = []
        for n in range(1, 5):
            body = participant_body(n, locale="en") if n == 4 else participant_body(n)
            regs.append((await browser.post(url, json={"participant": body}, headers=vng)).json())
        await mails(mail_sink, 4)  # two confirmations, two waiting-list mails
        for seated in regs[:2]:
            assert (await browser.post(f"/api/v1/registrations/{seated['id']}/cancel", headers=vng)).status_code == 200
        received = await mails(mail_sink, 8)  # two cancellations, two offers
        (offer_nl,) = [m for m in to(received, dutch) if "/aanbod/" in text_of(m)]
        (offer_en,) = [m for m in to(received, english) if "/aanbod/" in text_of(m)]
        accept_nl, accept_en = link(offer_nl, "/aanbod/"), link(offer_en, "/aanbod/")
        assert "/accept/" in accept_nl
        assert "/accept/" in accept_en
        opened_before = await browser.get(accept_nl)  # opened before, pressed after the cancellation
        assert opened_before.status_code == 200
        cancelled = await browser.post(f"/api/v1/meetings/{meeting['id']}/cancel", json={}, headers=vng)
        assert cancelled.status_code == 200
        shown = await browser.get(accept_nl)
        assert shown.status_code == 410, shown.text
        assert "De bijeenkomst gaat niet door" in shown.text
        assert "geannuleerd" in shown.text
        assert "volgende op de wachtlijst" not in shown.text
        assert '<form method="post"' not in shown.text
        pressed = await browser.post(accept_nl)
        assert pressed.status_code == 410, pressed.text
        assert "geannuleerd" in pressed.text
        assert "volgende op de wachtlijst" not in pressed.text
        in_english = await browser.get(accept_en)
        assert in_english.status_code == 410, in_english.text
        assert "The meeting is off" in in_english.text
        assert "It has been cancelled; there is no seat left to take or pass on." in in_english.text
        assert "waiting list" not in in_english.text
    statuses = [r["status"] for r in await conn.fetch("SELECT status FROM registrations ORDER BY n")]
    assert statuses == ["cancelled"] * 4


async def test_an_update_keeps_my_seat_accepted_in_my_calendar_and_its_way_out_is_my_registrations(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published(browser, vng, capacity=1)
    url = f"/api/v1/meetings/{meeting['id']}"
    seated, waiting = "deelnemer1@gemeente.example.nl", "deelnemer2@gemeente.example.nl"
    async with running_workers(mail_settings):
        for n in (1, 2):
            body = {"participant": participant_body(n)}
            assert (await browser.post(f"{url}/registrations", json=body, headers=vng)).status_code == 201
        confirmation = to(await mails(mail_sink, 2), seated)[0]
        confirmed = parse_imip(confirmation.raw, method="REQUEST", to=seated)
        start = datetime.fromisoformat(meeting["starts_at"]) + timedelta(hours=1)
        moved = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat()}
        assert (await browser.patch(url, json=moved, headers=vng)).status_code == 200
        await wait_until(lambda: conn.fetchval("SELECT count(*) = 1 FROM scheduled_tasks WHERE kind = $1", UPDATE_TASK))
        await conn.execute("UPDATE scheduled_tasks SET due_at = now() WHERE kind = $1", UPDATE_TASK)
        received = await mails(mail_sink, 3)
        update = to(received, seated)[-1]
        parsed = parse_imip(update.raw, method="REQUEST", to=seated)
        assert parsed.uid == confirmed.uid
        assert parsed.sequence > confirmed.sequence
        assert parsed.partstat == "ACCEPTED", "the seat stays accepted in the calendar"
        assert "RSVP=FALSE" in parsed.ics.decode().replace("\r\n ", "")
        assert "/uitnodiging/" not in parsed.text
        assert "/uitnodiging/" not in parsed.html
        cant_come = link(update, "/ik-kan-niet/")
        assert cant_come == link(confirmation, "/ik-kan-niet/"), "the registration's own way out"
        assert to(received, waiting)[1:] == [], "the waiting list holds no calendar entry to update"
        done = await press(browser, cant_come)
        assert done.status_code == 200, done.text
        assert "Je bent afgemeld" in done.text
        received = await mails(mail_sink, 5)  # the CANCEL for the first, the seat for the second
    parse_imip(to(received, seated)[-1].raw, method="CANCEL", to=seated)
    statuses = [r["status"] for r in await conn.fetch("SELECT status FROM registrations ORDER BY n")]
    assert statuses == ["cancelled", "confirmed"]


async def test_the_register_link_opened_again_says_i_am_registered_instead_of_the_form(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published(browser, vng, capacity=1)
    dutch, english = "deelnemer1@gemeente.example.nl", "deelnemer2@gemeente.example.nl"
    for body in (participant_body(1), participant_body(2, locale="en")):
        assert (await browser.post("/api/v1/participants", json=body, headers=vng)).status_code in (200, 201)
    async with running_workers(mail_settings):
        invited = await browser.post(
            f"/api/v1/meetings/{meeting['id']}/invitations", json={"emails": [dutch, english]}, headers=vng
        )
        assert invited.status_code == 202, invited.text
        received = await mails(mail_sink, 2)
        register_nl = link(to(received, dutch)[0], "/uitnodiging/aanmelden/")
        register_en = link(to(received, english)[0], "/uitnodiging/aanmelden/")
        for url in (register_nl, register_en):  # the first takes the one seat, the second goes on the waiting list
            done = await press(browser, url)
            assert done.status_code == 200, done.text
        await mails(mail_sink, 4)  # the confirmation and the waiting-list mail
    statuses = [r["status"] for r in await conn.fetch("SELECT status FROM registrations ORDER BY n")]
    assert statuses == ["confirmed", "waitlisted"]
    sessions = await conn.fetchval("SELECT count(*) FROM participant_tokens")
    async with AsyncTestClient(app=create_app(mail_settings), base_url=BASE) as elsewhere:  # e.g. on the phone
        seated = await elsewhere.get(register_nl)
        assert seated.status_code == 200, seated.text
        assert "Je bent al ingeschreven" in seated.text
        assert "Je hebt een plek bij deze bijeenkomst." in seated.text
        assert '<form method="post"' not in seated.text, "no registration form again"
        assert 'href="/mijn"' in seated.text
        waiting = await elsewhere.get(register_en)
        assert waiting.status_code == 200, waiting.text
        assert "You are registered already" in waiting.text
        assert "You are on the waiting list, number 1." in waiting.text
        assert '<form method="post"' not in waiting.text
        assert ">My meetings</a>" in waiting.text
        assert (await elsewhere.get("/mijn")).status_code == 401, "opening the link signs no one in"
    assert await conn.fetchval("SELECT count(*) FROM participant_tokens") == sessions
