"""What a newcomer's walk through the pages found (2026-12-01): a long pasted list or text is not cut off without a
word, no link on the organiser's meeting page leads to a 404, bad input (NUL characters, a body that is not JSON) is a
message at its field rather than a 500, and an English page or mail says its own words in English."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from services import ratelimit
from services.app import create_app
from services.db import Connection
from services.evaluations import links as evaluation_links
from services.evaluations.mailing import sweep
from services.settings import Settings
from tests.api import published, register
from tests.conftest import Keys
from tests.csrf import like_a_browser
from tests.integration.test_web_sessions import sign_in

Client = AsyncTestClient  # type: ignore[type-arg]


@pytest.fixture
async def browser(settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings), base_url="https://leerkring.test") as client:
        yield like_a_browser(client, settings.secret_key)


def _form(meeting: dict[str, str], **changes: str) -> dict[str, str]:
    return {"title": meeting["title"], "format": "intervisie", "date": meeting["starts_at"][:10], "start": "13:30",
            "end": "16:00", "capacity": "20", "venue_name": "Stadhuis", "venue_city": "Den Haag"} | changes  # fmt: skip


async def test_two_hundred_pasted_addresses_are_two_hundred_invitees(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng, title="Grote groep")
    mid = meeting["id"]
    await sign_in(browser, vng)
    pasted = "\n".join(f"deelnemer.nummer{i:03d}@gemeente-utrecht.example.nl" for i in range(200))
    assert len(pasted) > 2000
    sent = await browser.post(f"/organisator/bijeenkomsten/{mid}/uitnodigen", data={"emails": pasted},
                              follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303
    batch_id = sent.headers["location"].rsplit("/", 1)[-1]
    batch = await browser.get(f"/api/v1/meetings/{mid}/invitations/{batch_id}", headers=vng)
    assert batch.status_code == 200
    assert batch.json()["email_count"] == 200, "every pasted address, not the first 2,000 characters of them"


async def test_a_note_or_description_too_long_is_said_at_its_field_not_cut_off(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng, title="Lange teksten")
    mid = meeting["id"]
    await sign_in(browser, vng)
    noted = await browser.post(
        f"/organisator/bijeenkomsten/{mid}/uitnodigen", data={"emails": "een@gemeente.example.nl", "note": "n" * 2500}
    )
    assert noted.status_code == 422, "a note over 2,000 characters is refused, not cut to 2,000 and sent"
    assert 'id="fout-note"' in noted.text
    assert (await browser.get(f"/api/v1/meetings/{mid}/invitations", headers=vng)).json()["items"] == []

    description = "Een lange beschrijving. " * 250  # 6,000 characters: the API takes up to 20,000
    saved = await browser.post(f"/organisator/bijeenkomsten/{mid}/bewerken",
                               data=_form(meeting, description=description), follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303
    stored = (await browser.get(f"/api/v1/meetings/{mid}", headers=vng)).json()["description"]
    assert stored == description.strip(), "the whole description, as the API would keep it"

    too_long = await browser.post(f"/organisator/bijeenkomsten/{mid}/bewerken",
                                  data=_form(meeting, description="x" * 20_001))  # fmt: skip
    assert too_long.status_code == 422
    assert 'id="fout-description"' in too_long.text
    assert (await browser.get(f"/api/v1/meetings/{mid}", headers=vng)).json()["description"] == description.strip()


async def test_a_drafts_page_links_to_no_evaluation_it_cannot_show(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    await sign_in(browser, vng)
    created = await browser.post("/organisator/nieuw", data=_form({"title": "Nog een concept",
                                 "starts_at": "2027-03-02T13:30:00+01:00"}), follow_redirects=False)  # fmt: skip
    assert created.status_code == 303
    page = await browser.get(created.headers["location"])
    assert page.status_code == 200
    for link in sorted(set(re.findall(r'href="(/organisator/[^"#?]+)"', page.text))):
        opened = await browser.get(link)
        assert opened.status_code == 200, f"{link} answers {opened.status_code} on a draft's page"


async def test_a_name_too_long_is_told_so_not_asked_for(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng, title="Lange naam")
    form = {"email": "lang@gemeente.example.nl", "name": "Jan " * 60}
    refused = await browser.post(f"/bijeenkomsten/{meeting['id']}/inschrijven", data=form)
    assert refused.status_code == 422
    assert "hoogstens 200 tekens" in refused.text, "240 characters is not an empty name"
    assert "Vul je naam in" not in refused.text
    browser.cookies.set("leerkring_taal", "en")
    english = await browser.post(f"/bijeenkomsten/{meeting['id']}/inschrijven", data=form)
    assert "at most 200 characters" in english.text
    empty = await browser.post(f"/bijeenkomsten/{meeting['id']}/inschrijven", data=form | {"name": ""})
    assert "Enter your name" in empty.text


async def test_an_empty_meeting_form_says_what_to_fill_in_in_the_forms_order(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    await sign_in(browser, vng)
    fields = ("title", "description", "format", "date", "start", "end", "capacity")
    empty = await browser.post("/organisator/nieuw", data=dict.fromkeys(fields, ""))
    assert empty.status_code == 422
    summary = re.findall(r'<a class="utrecht-link" href="#veld-([a-z_]+)">([^<]*)</a>', empty.text)
    assert [field for field, _ in summary] == ["title", "format", "date", "start", "end", "capacity"], "as on the page"
    said = dict(summary)
    assert said["format"] == "Kies een werkvorm", "not: Onbekende waarde ''"
    assert said["capacity"] == "Vul het aantal plaatsen in", "not: Vul een geheel getal in (nu: tekst)"
    assert "Vul een geheel getal in" in (await browser.post("/organisator/nieuw", data={"capacity": "veel"})).text


async def test_a_cancellation_reason_is_checked_as_the_api_checks_it_and_mailed_whole(
    browser: Client, keys: Keys, conn: Connection
) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng, title="Gaat niet door")
    mid = meeting["id"]
    await sign_in(browser, vng)
    nul = await browser.post(
        f"/organisator/bijeenkomsten/{mid}/annuleren", data={"reason": "ziek\x00", "bevestigd": "ja"}
    )
    assert nul.status_code == 422, "a NUL character is a message at the field, not a 500"
    assert 'id="fout-reason"' in nul.text
    assert (await browser.get(f"/api/v1/meetings/{mid}", headers=vng)).json()["status"] == "published"

    reason = "De spreker is ziek en we vinden zo snel geen vervanger. " * 12  # 684 characters, as the API takes
    done = await browser.post(f"/organisator/bijeenkomsten/{mid}/annuleren",
                              data={"reason": reason, "bevestigd": "ja"}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    mailed = await conn.fetchval(
        "SELECT payload->>'reason' FROM outbox WHERE aggregate_id = $1 AND type = 'meeting.cancelled'", UUID(mid)
    )
    assert mailed == reason.strip(), "the whole reason, not its first 500 characters"


async def test_a_nul_character_in_an_open_answer_is_a_message_not_a_500(
    browser: Client, keys: Keys, conn: Connection, settings: Settings
) -> None:
    vng = await keys.headers("organiser", "VNG")
    start = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    end = start + timedelta(hours=2)
    meeting = await published(browser, vng, starts_at=start.isoformat(), ends_at=end.isoformat(), reminders=[])
    registered = await register(browser, meeting["id"], 1, **vng)
    assert registered.status_code == 201, registered.text
    present = {"records": [{"registration_id": registered.json()["id"], "status": "attended"}]}
    marked = await browser.post(f"/api/v1/meetings/{meeting['id']}/attendance", json=present, headers=vng)
    assert marked.status_code == 200, marked.text
    async with conn.transaction():
        assert await sweep(conn, now=end + timedelta(hours=2, minutes=1)) == 1
    request_id = await conn.fetchval("SELECT id FROM evaluation_requests WHERE meeting_id = $1", UUID(meeting["id"]))
    form_url = f"/evaluatie/{request_id}/{evaluation_links.token(settings.secret_key, request_id)}"
    good = {"cijfer": "8", "bruikbaar": "4", "toepassen": "Vaker doorvragen", "delen": "ja", "aanraden": "ja"}
    refused = await browser.post(form_url, data=good | {"toepassen": "Vaker\x00 doorvragen"})
    assert refused.status_code == 422, "a message at the field, not a 500 from the database"
    assert 'href="#veld-toepassen"' in refused.text
    assert await conn.fetchval("SELECT count(*) FROM evaluation_responses WHERE meeting_id = $1",
                               UUID(meeting["id"])) == 0  # fmt: skip
    lines = await browser.post(form_url, data=good | {"toepassen": "Vaker doorvragen.\r\nEn\tluisteren."})
    assert lines.status_code == 200, "line breaks and tabs are text"


async def test_the_too_many_requests_page_speaks_english_on_an_english_page(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng, title="Drukte")
    browser.cookies.set("leerkring_taal", "en")
    url = f"/bijeenkomsten/{meeting['id']}/inschrijven"
    for n in range(ratelimit.MAIL.requests):
        answer = await browser.post(url, data={"email": f"druk{n}@gemeente.example.nl", "name": f"Druk {n}"})
        assert answer.status_code == 202, (n, answer.text)
    limited = await browser.post(url, data={"email": "nog1@gemeente.example.nl", "name": "Nog een"})
    assert limited.status_code == 429
    assert "Probeer het later opnieuw" not in limited.text, "the detail in English too, not only the title"
    assert "Try again later" in limited.text


async def test_the_door_queue_answers_a_body_that_is_not_json_with_422_not_500(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng, title="Deur")
    await sign_in(browser, vng)
    url = f"/organisator/bijeenkomsten/{meeting['id']}/aanwezig/lijst"
    for body in ({"data": {"registration_id": "zzz"}}, {"content": b'{"registration_ids": [', "headers": {}}):
        answer = await browser.post(url, **body)  # type: ignore[arg-type]
        assert answer.status_code == 422, answer.text
        assert "registration_ids" in answer.text


async def test_the_addresses_set_aside_are_explained_in_english_on_an_english_page(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng, title="Engels")
    await sign_in(browser, vng)
    browser.cookies.set("leerkring_taal", "en")
    sent = await browser.post(f"/organisator/bijeenkomsten/{meeting['id']}/uitnodigen",
                              data={"emails": "een@gemeente.example.nl, kapot, twee@@x"})  # fmt: skip
    assert sent.status_code == 200, "followed to the progress page"
    assert "2 addresses not invited" in sent.text
    assert "Geen geldig e-mailadres" not in sent.text
    assert "Meer dan één adres" not in sent.text


async def test_the_meeting_forms_own_messages_are_english_on_an_english_page(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    await sign_in(browser, vng)
    browser.cookies.set("leerkring_taal", "en")
    form = {"title": "Engels", "format": "intervisie", "date": "2027-03-02", "start": "13:30", "end": "16:00",
            "capacity": "20", "venue_name": "Stadhuis"}  # fmt: skip
    said: dict[str, str] = {}
    for wrong in ({"title": "", "online_url": "javascript:alert(1)"},
                  {"start": "16:00", "end": "13:30", "series": "00000000-0000-0000-0000-000000000000"}):  # fmt: skip
        refused = await browser.post("/organisator/nieuw", data=form | wrong)
        assert refused.status_code == 422
        said |= dict(re.findall(r'<a class="utrecht-link" href="#veld-([a-z_]+)">([^<]*)</a>', refused.text))
    assert set(said) == {"title", "online_url", "end", "series"}, said
    for dutch in ("Dit veld mag niet leeg zijn", "Het einde moet na het begin liggen", "Heeft niet de juiste vorm",
                  "Deze reeks bestaat niet bij je organisatie"):  # fmt: skip
        assert dutch not in said.values(), said


async def test_a_closed_registration_says_since_when_in_english_on_an_english_page(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    # Registration closed ten minutes ago for a meeting tomorrow (one that has begun cannot be published).
    closed = (datetime.now(UTC) - timedelta(minutes=10)).replace(microsecond=0)
    start = closed + timedelta(days=1)
    meeting = await published(browser, vng, title="Gesloten", starts_at=start.isoformat(),
                              ends_at=(start + timedelta(hours=2)).isoformat(),
                              registration_closes_at=closed.isoformat())  # fmt: skip
    dutch = await browser.get(f"/bijeenkomsten/{meeting['id']}")
    assert "De inschrijving is gesloten sinds" in dutch.text
    browser.cookies.set("leerkring_taal", "en")
    english = await browser.get(f"/bijeenkomsten/{meeting['id']}")
    assert "De inschrijving is gesloten" not in english.text
    assert "Registration closed on" in english.text
