"""The online link of a meeting is for its registered participants and its staff only (issue 11): not in the public
API, not in shared feeds, not in invitations or on the public meeting page; yes in the confirmed participant's own
feed, mails and pages, and for the meeting's organisers and admins."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from localdev.mailsink import MailSink, ReceivedMail
from services.app import create_app
from services.db import Connection
from services.settings import Settings
from tests.conftest import Keys
from tests.factories import participant_body
from tests.integration.invitation_helpers import add_participants, batches_done, by_recipient, invite, mails
from tests.integration.test_feeds_personal import feed_url, register
from tests.integration.test_feeds_support import Client, publish, run_feed_jobs, soon, unfolded
from workers.jobs.invitations import UPDATE_TASK
from workers.testing import running_workers, wait_until

SECRET = "https://meet.example.nl/j/geheim-4711"
MOVED = "https://meet.example.nl/j/nieuw-0815"
BASE = "https://leerkring.test"


def whole(text: str) -> str:
    """Feed text with folded lines joined, so a URL cut across two lines is found too."""
    return "\n".join(unfolded(text))


def raw(mail: ReceivedMail) -> str:
    """Every part of a mail decoded (text, HTML, calendar), unfolded."""
    message = mail.message
    assert isinstance(message, EmailMessage)
    parts = [str(p.get_content()) for p in message.walk() if p.get_content_maintype() == "text"]
    return "\n".join(re.sub(r"\r?\n[ \t]", "", p) for p in parts)


async def test_the_online_link_is_not_public_but_the_registered_and_staff_see_it(
    client: Client, vng: dict[str, str], admin: dict[str, str], keys: Keys, settings: Settings, conn: Connection
) -> None:
    meeting = await publish(client, vng, title="Online intervisie", online_url=SECRET, capacity=1)
    assert meeting["online_url"] == SECRET, "the organiser who made it sees it"
    mid = meeting["id"]
    seated = await register(client, mid, 1, vng)
    waiting = await register(client, mid, 2, vng)
    assert (seated["status"], waiting["status"]) == ("confirmed", "waitlisted")
    await run_feed_jobs(settings)

    anonymous = (await client.get(f"/api/v1/meetings/{mid}")).json()
    assert (anonymous["online_url"], anonymous["online"]) == (None, True), "it says there is a link, not which"
    listed = (await client.get("/api/v1/meetings")).json()["items"]
    assert [m["online_url"] for m in listed] == [None]
    other_body = await keys.headers("organiser", "AOF")
    assert (await client.get(f"/api/v1/meetings/{mid}", headers=other_body)).json()["online_url"] is None
    assert (await client.get(f"/api/v1/meetings/{mid}", headers=vng)).json()["online_url"] == SECRET
    assert (await client.get(f"/api/v1/meetings/{mid}", headers=admin)).json()["online_url"] == SECRET
    staff_list = (await client.get("/api/v1/meetings", headers=vng)).json()["items"]
    assert [m["online_url"] for m in staff_list] == [SECRET]

    for path in (
        "/feeds/public.ics",
        "/feeds/themes/de-bedoeling.ics",
        "/feeds/groups/wmo-consulent.ics",
        "/feeds/organisations/VNG.ics",
    ):
        shared = await client.get(path)
        assert shared.status_code == 200, path
        assert "Online intervisie" in shared.text, path
        assert "geheim-4711" not in whole(shared.text), path
    page = await client.get(f"/bijeenkomsten/{mid}")
    assert page.status_code == 200
    assert "geheim-4711" not in page.text

    mine = await client.get(await feed_url(client, conn, seated["participant_id"]))
    assert SECRET in whole(mine.text), "the confirmed participant's own feed has it"
    theirs = await client.get(await feed_url(client, conn, waiting["participant_id"]))
    assert "Wachtlijst: Online intervisie" in whole(theirs.text)
    assert "geheim-4711" not in whole(theirs.text), "a place on the waiting list is no seat"


@pytest.fixture
async def browser(mail_settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_app(mail_settings), base_url=BASE) as client:
        yield client


async def test_invitations_leave_the_link_out_confirmations_and_updates_to_the_registered_carry_it(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await publish(browser, vng, title="Online casuïstiek", online_url=SECRET, **soon())
    mid = meeting["id"]
    invitee, member = await add_participants(conn, 2)
    async with running_workers(mail_settings):
        await invite(browser, vng, mid, emails=[invitee])
        (invitation,) = await mails(mail_sink, 1)
        await wait_until(lambda: batches_done(conn, mid))
        assert "geheim-4711" not in raw(invitation), "an invitation can be forwarded: no link in it"
        body = participant_body(email=member, name="Lid")
        registered = await browser.post(
            f"/api/v1/meetings/{mid}/registrations", json={"participant": body}, headers=vng
        )
        assert registered.status_code == 201
        confirmation = (await mails(mail_sink, 2))[1]
        assert SECRET in raw(confirmation), "the confirmation carries it (text, HTML and calendar)"

        # The link changes: the update to the registered person carries the new one, the invitee's neither.
        assert (
            await browser.patch(f"/api/v1/meetings/{mid}", json={"online_url": MOVED}, headers=vng)
        ).status_code == 200
        await wait_until(lambda: conn.fetchval("SELECT count(*) = 1 FROM scheduled_tasks WHERE kind = $1", UPDATE_TASK))
        await conn.execute("UPDATE scheduled_tasks SET due_at = now() WHERE kind = $1", UPDATE_TASK)
        updates = by_recipient((await mails(mail_sink, 3))[2:])
        assert MOVED in raw(updates[member][0])
        await wait_until(lambda: batches_done(conn, mid))
        assert invitee not in by_recipient(mail_sink.messages[2:]), "nothing in it for the invitee: no update mail"

        # Their own page, opened from the confirmation's manage link, shows it; an anonymous visitor's does not.
        match = re.search(rf"{re.escape(BASE)}/mijn\?token=[^\s<>\"]+", raw(confirmation))
        assert match
        assert (await browser.get(match.group(0))).status_code == 200
        own = await browser.get(f"/bijeenkomsten/{mid}")
        assert MOVED in own.text
    browser.cookies.clear()
    assert "nieuw-0815" not in (await browser.get(f"/bijeenkomsten/{mid}")).text


async def _send_pending_update(conn: Connection, meeting_id: UUID) -> None:
    """Send the debounced update now, and wait until every one of its mails has its outcome."""
    pending = "SELECT EXISTS (SELECT 1 FROM scheduled_tasks WHERE kind = $1 AND status = 'pending')"
    await wait_until(lambda: conn.fetchval(pending, UPDATE_TASK))
    await conn.execute("UPDATE scheduled_tasks SET due_at = now() WHERE kind = $1 AND status = 'pending'", UPDATE_TASK)
    await wait_until(lambda: conn.fetchval(f"SELECT NOT ({pending})", UPDATE_TASK))
    done = (
        "SELECT count(*) > 0 AND bool_and(state = 'done') FROM invitation_batches "
        "WHERE meeting_id = $1 AND kind = 'update'"
    )
    await wait_until(lambda: conn.fetchval(done, meeting_id))


async def test_a_new_online_link_is_mailed_to_the_seated_only_and_no_one_gets_an_empty_update(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    """Only the online link changed: an invitee (or someone on the waiting list) may not see it, so for them there is
    nothing to say, and no mail. A later move in time reaches everyone, and still without the link for them."""
    meeting = await publish(browser, vng, title="Online intervisie", online_url=SECRET, capacity=1, **soon())
    mid = meeting["id"]
    invitee, member, waiter = await add_participants(conn, 3)
    url = f"/api/v1/meetings/{mid}/registrations"
    async with running_workers(mail_settings):
        await invite(browser, vng, mid, emails=[invitee, waiter])
        await mails(mail_sink, 2)
        await wait_until(lambda: batches_done(conn, mid))
        for address, status in ((member, "confirmed"), (waiter, "waitlisted")):
            body = participant_body(email=address, name="Lid")
            answer = await browser.post(url, json={"participant": body}, headers=vng)
            assert answer.json()["status"] == status, answer.text
        await mails(mail_sink, 4)  # the confirmation and the waiting-list notice

        moved = await browser.patch(f"/api/v1/meetings/{mid}", json={"online_url": MOVED}, headers=vng)
        assert moved.status_code == 200
        await _send_pending_update(conn, UUID(mid))
        (update,) = mail_sink.messages[4:]
        assert list(update.rcpt_tos) == [member]
        assert MOVED in raw(update)

        later = datetime.fromisoformat(meeting["starts_at"]) + timedelta(hours=1)
        times = {"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=3)).isoformat()}
        assert (await browser.patch(f"/api/v1/meetings/{mid}", json=times, headers=vng)).status_code == 200
        await _send_pending_update(conn, UUID(mid))
        received = by_recipient(mail_sink.messages[5:])
    assert sorted(received) == sorted([invitee, member, waiter])
    assert MOVED in raw(received[member][0])
    for address in (invitee, waiter):
        text = raw(received[address][0])
        assert "nieuw-0815" not in text, f"no seat, no link: {address}"
        assert "geheim-4711" not in text, f"no seat, no link: {address}"
