"""An organiser signs in by mail: a colleague registers the address, the sign-in page mails a single-use link, the
link from the mail (taken out of the sink) signs the browser in for the body of the key the address is bound to.
Real PostgreSQL, Redis, SMTP and workers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from localdev.mailsink import MailSink
from services import ratelimit
from services.app import create_app
from services.auth.keys import revoke_key
from services.db import Connection
from services.settings import Settings
from services.web import i18n
from tests.api import published
from tests.conftest import Keys
from tests.csrf import like_a_browser
from tests.english import dutch_words
from tests.integration.invitation_helpers import mails
from tests.integration.test_participant_journey import BASE, link, press, subjects, text_of
from tests.integration.test_web_sessions import sign_in
from workers.testing import running_workers

Client = AsyncTestClient  # type: ignore[type-arg]
COLLEAGUE = "Jet.Jansen@vng.example.nl"


@pytest.fixture
async def organiser(mail_settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(mail_settings), base_url=BASE) as client:
        yield like_a_browser(client, mail_settings.secret_key)


@pytest.fixture
async def colleague(mail_settings: Settings) -> AsyncIterator[Client]:
    """Another person's browser: no cookies of the organiser's."""
    async with AsyncTestClient(app=create_app(mail_settings), base_url=BASE) as client:
        yield like_a_browser(client, mail_settings.secret_key)


async def test_a_colleague_signs_in_with_the_link_from_the_mail_once(
    organiser: Client, colleague: Client, keys: Keys, conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(organiser, vng, title="Alleen voor VNG-collega's")
    await sign_in(organiser, vng)
    bad = await organiser.post("/organisator/collegas", data={"email": "geen adres"})
    assert bad.status_code == 422
    assert 'href="#veld-email"' in bad.text
    added = await organiser.post("/organisator/collegas", data={"email": COLLEAGUE}, follow_redirects=False)
    assert added.status_code == 303
    team = await organiser.get(added.headers["location"])
    assert "jet.jansen@vng.example.nl" in team.text
    assert "Toegevoegd" in team.text
    twice = await organiser.post("/organisator/collegas", data={"email": COLLEAGUE.upper()}, follow_redirects=False)
    assert twice.status_code == 303
    assert await conn.fetchval("SELECT count(*) FROM staff_addresses") == 1, "adding it again changes nothing"

    async with running_workers(mail_settings):
        form = await colleague.get("/organisator/inloggen")
        assert 'action="/organisator/inloggen/mail"' in form.text
        asked = await colleague.post("/organisator/inloggen/mail", data={"email": COLLEAGUE})
        unknown = await colleague.post("/organisator/inloggen/mail", data={"email": "niemand@vng.example.nl"})
        assert (asked.status_code, unknown.status_code) == (200, 200)  # after the 303: a reload asks nothing again
        assert asked.url == unknown.url
        assert asked.text == unknown.text, "the answer never tells whether an address is known"
        assert "Kijk in je mail" in asked.text
        (mail,) = await mails(mail_sink, 1)
    assert subjects([mail]) == ["Je inloglink voor Leerkring"]
    assert mail.rcpt_tos == ("jet.jansen@vng.example.nl",)
    signin = link(mail, "/organisator/inloggen/link/")
    assert "jet" not in signin.lower(), "the link carries no address"
    assert "één keer" in text_of(mail)

    assert (await colleague.get("/organisator")).status_code == 401, "not signed in before the button"
    opened = await press(colleague, signin)
    assert opened.status_code == 200, opened.text  # followed the 303 to the organiser's home
    assert "Mijn bijeenkomsten als organisator" in opened.text
    assert "Alleen voor VNG-collega" in opened.text, "signed in for the body of the key the address is bound to"
    assert (await colleague.get(f"/organisator/bijeenkomsten/{meeting['id']}")).status_code == 200
    again = await colleague.post(signin)
    assert again.status_code == 410
    assert "al gebruikt" in again.text
    assert (await colleague.get("/organisator/inloggen/link/lkp_onbekend_onbekend_onbekend")).status_code == 404

    # Removing the address ends the colleague's session at once.
    staff_id = await conn.fetchval("SELECT id FROM staff_addresses WHERE email = 'jet.jansen@vng.example.nl'")
    removed = await organiser.post(f"/organisator/collegas/{staff_id}/verwijderen", follow_redirects=False)
    assert removed.status_code == 303
    assert (await colleague.get("/organisator")).status_code == 401
    assert (await organiser.get("/organisator")).status_code == 200, "the key's own session stays"


async def test_revoking_the_key_ends_the_mailed_sessions_and_the_links(
    organiser: Client, colleague: Client, keys: Keys, conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    vng = await keys.headers("organiser", "VNG")
    await sign_in(organiser, vng)
    assert (await organiser.post("/organisator/collegas", data={"email": COLLEAGUE})).status_code == 200
    async with running_workers(mail_settings):
        await colleague.post("/organisator/inloggen/mail", data={"email": COLLEAGUE})
        await colleague.post("/organisator/inloggen/mail", data={"email": COLLEAGUE})  # throttled: no second mail
        (first,) = await mails(mail_sink, 1)
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE type = 'staff.signin_requested'") == 1
    assert (await press(colleague, link(first, "/organisator/inloggen/link/"))).status_code == 200
    await revoke_key(conn, vng["Authorization"].split("_")[1])
    assert (await colleague.get("/organisator")).status_code == 401


async def test_asking_for_links_is_rate_limited_like_the_other_doors(colleague: Client) -> None:
    for n in range(ratelimit.MAIL.requests):
        answer = await colleague.post(
            "/organisator/inloggen/mail", data={"email": f"iemand{n}@vng.example.nl"}, follow_redirects=False
        )
        assert answer.status_code == 303, n
    limited = await colleague.post("/organisator/inloggen/mail", data={"email": "nog-een@vng.example.nl"})
    assert limited.status_code == 429
    assert "te veel aanvragen" in limited.text
    assert int(limited.headers["retry-after"]) >= 1


async def test_an_admin_registers_an_address_for_a_body_through_the_api(
    organiser: Client, colleague: Client, keys: Keys, conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    admin = await keys.headers("admin", None)
    vng = await keys.headers("organiser", "VNG")
    bzk = await keys.headers("organiser", "BZK")
    vng_key = await conn.fetchval("SELECT id FROM api_keys WHERE prefix = $1", vng["Authorization"].split("_")[1])
    missing = await organiser.post("/api/v1/staff-addresses", json={"email": COLLEAGUE}, headers=admin)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "api_key_id"
    foreign = await organiser.post("/api/v1/staff-addresses", json={"email": COLLEAGUE, "api_key_id": str(vng_key)},
                                   headers=bzk)  # fmt: skip
    assert foreign.status_code == 422, "another body's key is not one to bind to"
    added = await organiser.post("/api/v1/staff-addresses", json={"email": COLLEAGUE, "api_key_id": str(vng_key)},
                                 headers=admin)  # fmt: skip
    assert added.status_code == 201, added.text
    assert (added.json()["organisation_code"], added.json()["email"]) == ("VNG", "jet.jansen@vng.example.nl")
    listed = (await organiser.get("/api/v1/staff-addresses", headers=vng)).json()["items"]
    assert [a["email"] for a in listed] == ["jet.jansen@vng.example.nl"], "the body sees its addresses"
    assert (await organiser.get("/api/v1/staff-addresses", headers=bzk)).json()["items"] == []

    async with running_workers(mail_settings):
        await colleague.post("/organisator/inloggen/mail", data={"email": COLLEAGUE})
        (mail,) = await mails(mail_sink, 1)
    assert (
        "Mijn bijeenkomsten als organisator" in (await press(colleague, link(mail, "/organisator/inloggen/link/"))).text
    )
    gone = await organiser.delete(f"/api/v1/staff-addresses/{added.json()['id']}", headers=bzk)
    assert gone.status_code == 404, "another body cannot remove it"
    assert (await organiser.delete(f"/api/v1/staff-addresses/{added.json()['id']}", headers=vng)).status_code == 204
    assert (await colleague.get("/organisator")).status_code == 401
    assert await conn.fetchval("SELECT email FROM staff_addresses") == "", "a removed address is forgotten"


async def test_the_link_asked_for_on_the_english_page_comes_in_english(
    organiser: Client, colleague: Client, keys: Keys, mail_settings: Settings, mail_sink: MailSink
) -> None:
    vng = await keys.headers("organiser", "VNG")
    await sign_in(organiser, vng)
    assert (await organiser.post("/organisator/collegas", data={"email": COLLEAGUE})).status_code == 200
    colleague.cookies.set(i18n.COOKIE, "en", domain="leerkring.test")
    async with running_workers(mail_settings):
        asked = await colleague.post("/organisator/inloggen/mail", data={"email": COLLEAGUE})
        assert asked.status_code == 200
        (mail,) = await mails(mail_sink, 1)
    assert subjects([mail]) == ["Your sign-in link for Leerkring"]
    text = text_of(mail)
    assert "You asked to sign in to Leerkring's organiser pages. Open this link to sign in:" in text
    assert "The link works once, until " in text
    assert " at " in text, "the moment in English ('2 March 2027 at 13:30')"
    signin = link(mail, "/organisator/inloggen/link/")
    assert dutch_words(text, data=(signin,)) == [], "no Dutch left but the link's own path"
    html = mail.message.get_body(preferencelist=("html",))
    assert html is not None
    assert "Sign in to Leerkring" in str(html.get_content())
    opened = await press(colleague, signin)
    assert opened.status_code == 200, opened.text
    assert (await colleague.get("/organisator")).status_code == 200, "signed in by the English link"
