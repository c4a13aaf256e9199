"""Register and decline links of an invitation name the invitation, not the person (issue 11): nothing of the
address is in the URL (so not in access logs, proxies or browser history), and the link still does its work. Links
mailed before (v1, the address inside) keep working until they expire."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

from localdev.mailsink import MailSink
from services.db import Connection
from services.invitations import links
from services.settings import Settings
from tests.integration.invitation_helpers import Client, invite, mails, published_meeting
from tests.invitation_checks import parse_imip
from workers.testing import running_workers

INVITEE = "nieuw.collega@bureau.example.nl"


def link(text: str, purpose: str) -> str:
    match = re.search(rf"https://leerkring\.test(/uitnodiging/{purpose}/\S+)", text)
    assert match, text
    return match.group(1)


def assert_nothing_personal(url: str, address: str) -> None:
    assert address not in url.lower()
    assert address.split("@")[0] not in url.lower()
    for part in re.split(r"[./]", url):
        try:
            decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue
        assert address.encode() not in decoded, f"the address is readable in {url}"
        assert address.split("@")[0].encode() not in decoded, f"the address is readable in {url}"


async def test_links_in_the_mail_carry_no_address_and_still_register_and_decline(
    client: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published_meeting(client, vng)
    async with running_workers(mail_settings):
        await invite(client, vng, meeting["id"], emails=[f"Nieuwe Collega <{INVITEE}>"])
        (invitation,) = await mails(mail_sink, 1)
        text = parse_imip(invitation.raw, method="REQUEST").text
        register, decline = link(text, "aanmelden"), link(text, "afmelden")
        for url in (register, decline):
            assert_nothing_personal(url, INVITEE)
        html = invitation.message.get_body(("html",))
        assert html is not None
        for href in re.findall(r'href="([^"]+)"', html.get_content()):
            assert_nothing_personal(href, INVITEE)

        page = await client.get(register)
        assert page.status_code == 200, page.text
        assert "Nieuwe Collega" in page.text, "the form knows the name the invitation used"
        done = await client.post(register)
        assert done.status_code == 200, done.text
        assert "Je bent ingeschreven" in done.text
        row = await conn.fetchrow(
            "SELECT r.status, p.email FROM registrations r JOIN participants p ON p.id = r.participant_id"
        )
        assert (row["status"], row["email"]) == ("confirmed", INVITEE)
        await mails(mail_sink, 2)  # the confirmation
        declined = await client.post(decline)
        assert declined.status_code == 200, declined.text
        assert "afgemeld" in declined.text
        await mails(mail_sink, 3)  # the cancellation
    assert await conn.fetchval("SELECT status FROM registrations") == "cancelled"
    assert await conn.fetchval("SELECT response FROM invitation_responses WHERE email = $1", INVITEE) == "declined"
    # The wrong purpose and an altered MAC are refused like any wrong link.
    token = register.rsplit("/", 1)[1]
    assert (await client.post(f"/uitnodiging/afmelden/{token}")).status_code == 404
    assert (await client.get(f"/uitnodiging/aanmelden/{token[:-2]}xx")).status_code == 404
    # Another invitation id under the same MAC is refused too.
    version, invitation_id, mac = token.split(".")
    assert (await client.get(f"/uitnodiging/aanmelden/{version}.{int(invitation_id) + 1}.{mac}")).status_code == 404
    # Once the invitation is erased (DELETE /api/v1/me rewrites the row), the link names nobody any more.
    await conn.execute("UPDATE invitations SET email = 'verwijderd-1@invalid', name = ''")
    gone = await client.get(register)
    assert gone.status_code == 410, gone.text
    assert INVITEE not in gone.text


async def test_a_v1_link_already_in_a_mailbox_still_works_until_it_expires(
    client: Client, vng: dict[str, str], conn: Connection, settings: Settings
) -> None:
    meeting = await published_meeting(client, vng)
    claims = links.LinkClaims(
        purpose="register",
        meeting_id=UUID(meeting["id"]),
        email=INVITEE,
        locale="en",
        expires=int(datetime.fromisoformat(meeting["starts_at"]).timestamp()),
    )
    old = links.sign_v1(settings.secret_key, claims)
    assert old.startswith("v1.")
    page = await client.get(f"/uitnodiging/aanmelden/{old}")
    assert page.status_code == 200, page.text
    done = await client.post(f"/uitnodiging/aanmelden/{old}", data={"name": "Old Link"})
    assert done.status_code == 200, done.text
    assert "You are registered" in done.text
    assert await conn.fetchval("SELECT email FROM participants WHERE name = 'Old Link'") == INVITEE
    expired = links.sign_v1(
        settings.secret_key,
        links.LinkClaims(
            purpose="register",
            meeting_id=UUID(meeting["id"]),
            email=INVITEE,
            locale="en",
            expires=int((datetime.now(UTC) - timedelta(minutes=1)).timestamp()),
        ),
    )
    refused = await client.post(f"/uitnodiging/aanmelden/{expired}")
    assert refused.status_code == 410
    assert "expired" in refused.text


async def test_the_link_pages_speak_the_readers_language(
    client: Client, vng: dict[str, str], conn: Connection, settings: Settings
) -> None:
    """Through the pages' catalog: a forged link in the reader's language (the switch's cookie), an expired or
    gone one in the invitee's."""
    client.cookies.set("leerkring_taal", "en")  # the language switch's cookie
    forged = await client.get("/uitnodiging/aanmelden/v2.1.AAAAAAAAAAAAAAAAAAAAAA")
    client.cookies.delete("leerkring_taal")
    assert forged.status_code == 404
    assert "Invalid link" in forged.text
    assert "ongeldig" not in forged.text
    dutch = await client.get("/uitnodiging/afmelden/v2.1.AAAAAAAAAAAAAAAAAAAAAA")
    assert "Link ongeldig" in dutch.text
    meeting = await published_meeting(client, vng)
    await conn.execute(
        """
        WITH b AS (INSERT INTO invitation_batches (meeting_id, kind, audience) VALUES ($1, 'invitation', '{}')
                   RETURNING id)
        INSERT INTO invitations (batch_id, meeting_id, email, locale, status) SELECT b.id, $1, $2, 'en', 'sent' FROM b
        """,
        UUID(meeting["id"]),
        INVITEE,
    )
    invitation_id = await conn.fetchval("SELECT id FROM invitations")
    register = f"/uitnodiging/aanmelden/{links.make(settings.secret_key, 'register', invitation_id)}"
    shown = await client.get(register)
    assert shown.status_code == 200, shown.text
    assert "Would you like to register" in shown.text, "an English invitee's page is English"
    await conn.execute("UPDATE meetings SET starts_at = now() - interval '1 hour' WHERE id = $1", UUID(meeting["id"]))
    expired = await client.get(register)
    assert (expired.status_code, "Link expired" in expired.text) == (410, True), expired.text
    await conn.execute("DELETE FROM invitations")
    gone = await client.get(register)
    assert gone.status_code == 410
    assert "bestaat niet meer" in gone.text, "the row (and its language) is gone: the reader's language, Dutch"
    client.cookies.set("leerkring_taal", "en")
    assert "no longer exists" in (await client.get(register)).text
