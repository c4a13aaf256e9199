"""Erasure is erasure (issue 11): after `DELETE /api/v1/me` the address is in no table, no mail reaches it any more,
a re-import by an organiser does not bring it back into mass invitations, and the person can come back themselves.
Walked with real PostgreSQL, Redis, SMTP and workers; the mails are read from the sink."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from localdev.mailsink import MailSink, ReceivedMail
from services.app import create_app
from services.db import Connection
from services.participants import suppression, tokens
from services.settings import Settings
from tests.csrf import like_a_browser
from tests.factories import participant_body
from tests.integration.invitation_helpers import batches_done, invite, mails, published_meeting
from workers.testing import running_workers, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]
BASE = "https://leerkring.test"
ELS = "els.jansen@gemeente.example.nl"


@pytest.fixture
async def browser(mail_settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(mail_settings), base_url=BASE) as client:
        yield like_a_browser(client, mail_settings.secret_key)


def link(mail: ReceivedMail, path: str) -> str:
    message = mail.message
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(rf"{re.escape(BASE + path)}[^\s<>\"]*", str(body.get_content()))
    assert found, f"no {path} link"
    return found.group(0)


def to(received: list[ReceivedMail], address: str) -> list[ReceivedMail]:
    return [m for m in received if address in m.rcpt_tos]


async def tables_holding(conn: Connection, needle: str) -> list[str]:
    """Every table in the schema whose rows, read as text, contain `needle` (case-insensitive)."""
    names = await conn.fetch(
        "SELECT quote_ident(table_name) AS t FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
    )
    found = []
    for row in names:
        hits = await conn.fetchval(
            f"SELECT count(*) FROM {row['t']} x WHERE strpos(lower(x::text), $1) > 0",
            needle.lower(),
        )
        if hits:
            found.append(str(row["t"]))
    return found


async def test_an_erased_address_is_nowhere_gets_no_mail_and_is_not_re_imported(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    registered_for = await published_meeting(browser, vng, title="Intervisie jeugd")
    pasted_into = await published_meeting(browser, vng, title="Netwerkend werken")
    els = participant_body(email=ELS, name="Els Jansen", invitation_consent=True)
    async with running_workers(mail_settings):
        # Registered by the organiser (a confirmation), invited by pasted address elsewhere, saved in a list, a
        # retried POST remembered under its Idempotency-Key, and a mail waiting out a 4xx.
        url = f"/api/v1/meetings/{registered_for['id']}/registrations"
        assert (await browser.post(url, json={"participant": els}, headers=vng)).status_code == 201
        await invite(browser, vng, pasted_into["id"], emails=[f"Els Jansen <{ELS}>"])
        await mails(mail_sink, 2)
        await wait_until(lambda: batches_done(conn, pasted_into["id"]))
        await conn.execute(
            "INSERT INTO invitation_responses (meeting_id, email, response, source) "
            "VALUES ($1, $2, 'tentative', 'link')",
            UUID(pasted_into["id"]),
            ELS,
        )
        saved = await browser.post(
            "/api/v1/audience-lists", json={"name": "Vaste groep", "emails": [ELS, "ander@gemeente.example.nl"]},
            headers=vng,
        )  # fmt: skip
        assert saved.status_code == 201, saved.text
        again = await browser.post(
            "/api/v1/participants", json=els, headers={**vng, "Idempotency-Key": "import-regel-17"}
        )
        assert again.status_code in (200, 201)
        await conn.execute(
            "INSERT INTO deliveries (key, kind, recipient, status, not_before, last_error) "
            "VALUES ('test:waiting', 'signin', $1, 'queued', now() + interval '1 hour', $2)",
            ELS,
            f"451 4.2.0 <{ELS}>: mailbox busy",
        )
        assert await tables_holding(conn, ELS), "the walk finds the address before the erasure"

    # Erased with the workers stopped: the test client blocks this loop during a request, so a request waiting on
    # a row an in-process worker holds would wait for ever (separate processes in production do not).
    pid = await conn.fetchval("SELECT id FROM participants WHERE email = $1", ELS)
    token = await tokens.issue(conn, pid, "manage")
    erased = await browser.delete("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert erased.status_code == 200, erased.text
    assert await tables_holding(conn, ELS) == [], "no table holds the address after the erasure"
    assert await tables_holding(conn, "Els Jansen") == [], "nor the name"
    listed = (await browser.get("/api/v1/audience-lists", headers=vng)).json()
    assert [x["email_count"] for x in listed] == [1], "the saved list lost only that address"

    async with running_workers(mail_settings):
        # Both meetings are cancelled: nobody else had them, so no cancellation mail goes anywhere.
        sent_before = len(mail_sink.messages)
        for meeting in (registered_for, pasted_into):
            cancelled = await browser.post(
                f"/api/v1/meetings/{meeting['id']}/cancel", json={"reason": "De zaal is niet beschikbaar"}, headers=vng
            )
            assert cancelled.status_code == 200
        for meeting in (registered_for, pasted_into):
            await wait_until(lambda m=meeting: batches_done(conn, m["id"]))  # type: ignore[misc]

        # An organiser re-imports the address (vouching, with consent) and invites by criteria and by paste.
        reimported = await published_meeting(browser, vng, title="Zelfsturende teams")
        assert (await browser.post("/api/v1/participants", json=els, headers=vng)).status_code == 201
        batch = await invite(browser, vng, reimported["id"], groups=["wmo-consulent"], emails=[ELS])
        await wait_until(lambda: batches_done(conn, reimported["id"]))
        progress = (await browser.get(batch["progress_url"], headers=vng)).json()
        assert progress["counts"]["total"] == 0, "the suppressed address is left out, criteria and paste alike"
        assert progress["counts"]["skipped"] == 2
        assert len(mail_sink.messages) == sent_before, "no mail after the erasure"
        assert not [m for m in mail_sink.messages if any(r.endswith(".invalid") or r.endswith("@invalid")
                                                         for r in m.rcpt_tos)]  # fmt: skip

        # She comes back herself: the meeting page's form mails her (she asked), the link proves the address.
        page = f"/bijeenkomsten/{reimported['id']}/inschrijven"
        asked = await browser.post(page, data={"email": ELS, "name": "Els Jansen"})
        assert asked.status_code == 202, asked.text
        request = to(await mails(mail_sink, sent_before + 1), ELS)[-1]
        assert (await browser.post(link(request, "/bevestigen/"))).status_code == 200
        await mails(mail_sink, sent_before + 2)  # the confirmation
        assert not await suppression.is_suppressed(conn, mail_settings.secret_key, ELS), "she lifted it herself"
        later = await published_meeting(browser, vng, title="Leren op locatie")
        await invite(browser, vng, later["id"], emails=[ELS])
        invitation = to(await mails(mail_sink, sent_before + 3), ELS)[-1]
        assert "Leren op locatie" in str(invitation.message["Subject"])


async def test_the_suppression_list_holds_a_keyed_hash_not_the_address(conn: Connection, settings: Settings) -> None:
    await suppression.suppress(conn, settings.secret_key, " Els.Jansen@Gemeente.example.nl ")
    stored = await conn.fetchval("SELECT address_hash FROM suppressed_addresses")
    assert ELS.encode() not in stored
    assert stored == suppression.address_hash(settings.secret_key, ELS), "normalised before hashing"
    assert stored != suppression.address_hash("een-andere-sleutel-" + "x" * 20, ELS), "keyed: not a plain hash"
    assert await suppression.is_suppressed(conn, settings.secret_key, ELS)
    assert await suppression.suppressed(conn, settings.secret_key, [ELS, "ander@example.nl"]) == {ELS}
    await suppression.lift(conn, settings.secret_key, ELS)
    assert not await suppression.is_suppressed(conn, settings.secret_key, ELS)
