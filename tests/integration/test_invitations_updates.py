"""Calendars follow the meeting: one debounced update per burst of edits, cancellations, confirmations, links."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from uuid import UUID

import msgspec

from localdev.mailsink import MailSink
from services.calendar import meeting_uid
from services.db import Connection
from services.invitations import links
from services.settings import Settings
from tests.factories import participant_body
from tests.integration.invitation_helpers import (
    Client,
    add_participants,
    batch_done,
    batches_done,
    by_recipient,
    invite,
    mails,
    published_meeting,
)
from tests.integration.test_participant_journey import link as mail_link
from tests.invitation_checks import parse_imip
from workers.jobs.invitations import UPDATE_TASK
from workers.testing import no_pending_jobs, running_workers, wait_until


async def pending_update_tasks(conn: Connection, meeting_id: str) -> list[datetime]:
    rows = await conn.fetch(
        "SELECT due_at FROM scheduled_tasks WHERE kind = $1 AND aggregate_id = $2 AND status = 'pending'",
        UPDATE_TASK,
        UUID(meeting_id),
    )
    return [r["due_at"] for r in rows]


async def test_a_burst_of_edits_gives_one_update_then_a_cancellation(
    client: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published_meeting(client, vng)
    mid, url = meeting["id"], f"/api/v1/meetings/{meeting['id']}"
    people = await add_participants(conn, 3)
    start = datetime.fromisoformat(meeting["starts_at"])
    # A debounce of three minutes, so the burst below certainly falls within one window.
    slow = msgspec.structs.replace(mail_settings, update_mail_debounce=180, update_mail_max_delay=900)
    async with running_workers(slow) as workers:
        body = await invite(client, vng, mid, groups=["wmo-consulent"])
        invitations = by_recipient(await mails(mail_sink, 3))
        await wait_until(lambda: batch_done(conn, body["batch"]["id"]))
        # Three edits within a minute: moved, moved again, new venue; plus a title change that moves nothing.
        for patch in (
            {
                "starts_at": (start + timedelta(hours=1)).isoformat(),
                "ends_at": (start + timedelta(hours=4)).isoformat(),
            },
            {"title": "Nieuwe titel"},
            {
                "starts_at": (start + timedelta(days=1)).isoformat(),
                "ends_at": (start + timedelta(days=1, hours=3)).isoformat(),
            },
            {"venue": {"name": "Provinciehuis", "address": "Zuid-Hollandplein 1", "city": "Den Haag"}},
        ):
            assert (await client.patch(url, json=patch, headers=vng)).status_code == 200
        await wait_until(lambda: no_pending_jobs(workers[0].ctx["pool"]))
        due = await pending_update_tasks(conn, mid)
        assert len(due) == 1, "one pending update mail for the whole burst"
        assert due[0] > datetime.now(UTC) + timedelta(minutes=2), "debounced: goes out minutes after the last edit"
        assert len(mail_sink.messages) == 3, "nothing sent while edits may still come"
        await conn.execute("UPDATE scheduled_tasks SET due_at = now() WHERE kind = $1", UPDATE_TASK)
        updates = by_recipient((await mails(mail_sink, 6))[3:])
        current = (await client.get(url, headers=vng)).json()
        assert current["sequence"] == 3
        cancelled = await client.post(f"{url}/cancel", json={"reason": "De trainer is ziek"}, headers=vng)
        assert cancelled.status_code == 200
        cancels = by_recipient((await mails(mail_sink, 9))[6:])
        await wait_until(lambda: batches_done(conn, mid))
    assert len(mail_sink.messages) == 9
    for person in people:
        first = parse_imip(invitations[person][0].raw, method="REQUEST", to=person)
        update = parse_imip(updates[person][0].raw, method="REQUEST", to=person)
        cancel = parse_imip(cancels[person][0].raw, method="CANCEL", to=person)
        assert first.uid == update.uid == cancel.uid == meeting_uid(mid)  # A7: one UID forever
        assert (first.sequence, update.sequence, cancel.sequence) == (0, 3, 4)  # C5: rises, never falls
        assert first.dtstamp <= update.dtstamp <= cancel.dtstamp
        assert str(update.message["Subject"]) == "Gewijzigd: Nieuwe titel"
        assert "Wat is er veranderd:" in update.text
        assert re.search(r"- Tijd: .+ → .+", update.text)
        assert "- Locatie: Stadhuis, Spui 70, Den Haag → Provinciehuis, Zuid-Hollandplein 1, Den Haag" in update.text
        assert str(cancel.message["Subject"]) == "Geannuleerd: Nieuwe titel"
        assert "Reden: De trainer is ziek" in cancel.text
    kinds = [b["kind"] for b in (await client.get(f"{url}/invitations", headers=vng)).json()["items"]]
    assert kinds == ["invitation", "update", "cancellation"]


async def test_registration_is_confirmed_in_the_calendar_and_cancelled_from_it(
    client: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published_meeting(client, vng, capacity=1)
    reg_url = f"/api/v1/meetings/{meeting['id']}/registrations"
    async with running_workers(mail_settings):
        first = await client.post(reg_url, json={"participant": participant_body(1)}, headers=vng)
        second = await client.post(reg_url, json={"participant": participant_body(2, locale="en")}, headers=vng)
        assert (first.json()["status"], second.json()["status"]) == ("confirmed", "waitlisted")
        # The first is confirmed (with the calendar REQUEST), the second hears she is on the waiting list.
        (confirmation,) = by_recipient(await mails(mail_sink, 2))["deelnemer1@gemeente.example.nl"]
        parsed = parse_imip(confirmation.raw, method="REQUEST", to="deelnemer1@gemeente.example.nl")
        assert str(parsed.message["Subject"]).startswith("Inschrijving bevestigd: ")
        assert "/ik-kan-niet/" in parsed.text, "the way out names the registration, not the address"
        assert "/uitnodiging/aanmelden/" not in parsed.text
        # Cancelling frees the seat: a CANCEL for the first, the second moves up and is confirmed (in English).
        response = await client.post(f"/api/v1/registrations/{first.json()['id']}/cancel", headers=vng)
        assert response.status_code == 200, response.text
        received = by_recipient(await mails(mail_sink, 4))
    cancel = parse_imip(received["deelnemer1@gemeente.example.nl"][1].raw, method="CANCEL")
    assert cancel.uid == parsed.uid
    assert cancel.sequence == parsed.sequence
    waitlisted, promoted_mail = received["deelnemer2@gemeente.example.nl"]
    assert str(waitlisted.message["Subject"]).startswith("You are on the waiting list: ")
    promoted = parse_imip(promoted_mail.raw, method="REQUEST")
    assert str(promoted.message["Subject"]).startswith("A seat is free: you are registered for ")


def link(text: str, purpose: str) -> str:
    match = re.search(rf"https://leerkring\.test(/uitnodiging/{purpose}/\S+)", text)
    assert match, text
    return match.group(1)


async def test_register_and_decline_links_work_without_logging_in(
    client: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published_meeting(client, vng)
    async with running_workers(mail_settings):
        await invite(client, vng, meeting["id"], emails=["Nieuwe Collega <nieuw@bureau.nl>"])
        (invitation,) = await mails(mail_sink, 1)
        text = parse_imip(invitation.raw, method="REQUEST").text
        register, decline = link(text, "aanmelden"), link(text, "afmelden")
        page = await client.get(register)
        assert page.status_code == 200
        assert '<form method="post"' in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
        assert await conn.fetchval("SELECT count(*) FROM registrations") == 0, "a GET never acts"
        done = await client.post(register)
        assert done.status_code == 200
        assert "Je bent ingeschreven" in done.text
        again = await client.post(register)
        assert again.status_code == 200, "idempotent: the same registration"
        row = await conn.fetchrow(
            "SELECT r.status, p.name FROM registrations r JOIN participants p ON p.id = r.participant_id"
        )
        assert (row["status"], row["name"]) == ("confirmed", "Nieuwe Collega")
        await mails(mail_sink, 2)  # the confirmation
        declined = await client.post(decline)
        assert declined.status_code == 200
        assert "afgemeld" in declined.text
        cancel = (await mails(mail_sink, 3))[2]
    assert parse_imip(cancel.raw, method="CANCEL", to="nieuw@bureau.nl").status == "CANCELLED"
    assert await conn.fetchval("SELECT status FROM registrations") == "cancelled"
    assert await conn.fetchval("SELECT response FROM invitation_responses") == "declined"
    # The wrong purpose, a forged or an expired link: refused, and a GET says so too.
    token = register.rsplit("/", 1)[1]
    assert (await client.post(f"/uitnodiging/afmelden/{token}")).status_code == 404
    assert (await client.get(f"/uitnodiging/aanmelden/{token[:-2]}xx")).status_code == 404
    old = links.sign_v1("test-secret", links.LinkClaims(
        purpose="register", meeting_id=UUID(meeting["id"]), email="nieuw@bureau.nl", locale="en",
        expires=int((datetime.now(UTC) - timedelta(minutes=1)).timestamp()),
    ))  # fmt: skip
    expired = await client.post(f"/uitnodiging/aanmelden/{old}")
    assert expired.status_code == 410
    assert "expired" in expired.text


async def test_a_link_for_a_full_meeting_says_so(client: Client, vng: dict[str, str], conn: Connection) -> None:
    meeting = await published_meeting(client, vng, capacity=1, waitlist_enabled=False)
    await client.post(
        f"/api/v1/meetings/{meeting['id']}/registrations", json={"participant": participant_body(1)}, headers=vng
    )
    token = links.sign_v1("test-secret", links.LinkClaims(  # a link mailed before v2 (it names the address)
        purpose="register", meeting_id=UUID(meeting["id"]), email="laat@bureau.nl", locale="nl",
        expires=int((datetime.now(UTC) + timedelta(days=1)).timestamp()),
    ))  # fmt: skip
    response = await client.post(f"/uitnodiging/aanmelden/{token}")
    assert response.status_code == 409
    assert "vol" in response.text
    assert await conn.fetchval("SELECT count(*) FROM participants WHERE email = 'laat@bureau.nl'") == 0


def reply_mail(uid: str, attendee: str, partstat: str, method: str = "REPLY") -> bytes:
    """An iTIP reply as Outlook sends it when the invitee presses Accept."""
    ics = (
        f"BEGIN:VCALENDAR\r\nMETHOD:{method}\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\n"
        f"BEGIN:VEVENT\r\nATTENDEE;PARTSTAT={partstat};CN=Jan:mailto:{attendee}\r\nUID:{uid}\r\nSEQUENCE:0\r\n"
        "DTSTAMP:20270201T090000Z\r\nSUMMARY:Geaccepteerd: bijeenkomst\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = attendee, "noreply@leerkring.local", "Geaccepteerd"
    message.set_content("Jan heeft geaccepteerd.")
    message.add_alternative(ics.encode(), maintype="text", subtype="calendar", params={"method": method})
    return message.as_bytes()


async def test_calendar_replies_are_recorded_but_register_nobody(
    client: Client, vng: dict[str, str], admin: dict[str, str], conn: Connection, mail_settings: Settings,
    mail_sink: MailSink,
) -> None:  # fmt: skip
    meeting = await published_meeting(client, vng)
    (person,) = await add_participants(conn, 1)
    async with running_workers(mail_settings):
        body = await invite(client, vng, meeting["id"], groups=["wmo-consulent"])
        await mails(mail_sink, 1)
        await wait_until(lambda: batch_done(conn, body["batch"]["id"]))
    uid, url = meeting_uid(meeting["id"]), "/api/v1/invitations/replies"
    headers = {**admin, "Content-Type": "message/rfc822"}
    response = await client.post(url, content=reply_mail(uid, person.upper(), "ACCEPTED"), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "meeting_id": meeting["id"],
        "email": person,
        "partstat": "ACCEPTED",
        "response": "accepted",
    }
    assert await conn.fetchval("SELECT response FROM invitation_responses") == "accepted"
    assert await conn.fetchval("SELECT count(*) FROM registrations") == 0
    invitee = (await client.get(body["progress_url"] + "/invitees", headers=vng)).json()["items"][0]
    assert invitee["response"] == "accepted"
    # Only REPLY, only our UIDs, only addresses we sent the meeting to, and only for the gateway's admin key.
    cases = [
        (reply_mail(uid, person, "ACCEPTED", method="REQUEST"), headers, 422),
        (reply_mail("iets@elders.nl", person, "ACCEPTED"), headers, 404),
        (reply_mail(uid, "vreemde@bureau.nl", "DECLINED"), headers, 404),
        (b"geen kalender", headers, 422),
        (b"BEGIN:VCALENDAR\r\nkapot\r\n", {**headers, "Content-Type": "text/calendar"}, 400),
        (reply_mail(uid, person, "DECLINED"), {**vng, "Content-Type": "message/rfc822"}, 403),
    ]
    for content, case_headers, status in cases:
        assert (await client.post(url, content=content, headers=case_headers)).status_code == status


async def test_a_meeting_under_way_that_moves_room_still_sends_the_update(
    client: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published_meeting(client, vng)
    async with running_workers(mail_settings):
        for n in (1, 2):
            registered = await client.post(
                f"/api/v1/meetings/{meeting['id']}/registrations", json={"participant": participant_body(n)},
                headers=vng,
            )  # fmt: skip
            assert registered.status_code == 201, registered.text
        await mails(mail_sink, 2)  # the confirmations
        # The clock moves on: the meeting began an hour ago and runs two more hours.
        await conn.execute(
            "UPDATE meetings SET starts_at = now() - interval '1 hour', ends_at = now() + interval '2 hours' "
            "WHERE id = $1",
            UUID(meeting["id"]),
        )
        moved = {"venue": {"name": "Raadzaal", "address": "Spui 70", "city": "Den Haag"}}
        assert (await client.patch(f"/api/v1/meetings/{meeting['id']}", json=moved, headers=vng)).status_code == 200
        await wait_until(lambda: pending_update_tasks(conn, meeting["id"]))
        await conn.execute("UPDATE scheduled_tasks SET due_at = now() WHERE kind = $1", UPDATE_TASK)
        updates = (await mails(mail_sink, 4))[2:]
    assert sorted(r for m in updates for r in m.rcpt_tos) == [
        "deelnemer1@gemeente.example.nl",
        "deelnemer2@gemeente.example.nl",
    ]
    assert all("Raadzaal" in m.message.as_string() for m in updates), "the new room, to everyone it concerns"


async def test_links_of_a_cancelled_meeting_say_it_is_off_before_any_form(
    client: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published_meeting(client, vng)
    async with running_workers(mail_settings):
        await invite(client, vng, meeting["id"], emails=["nieuw@bureau.nl"])
        registered = await client.post(
            f"/api/v1/meetings/{meeting['id']}/registrations", json={"participant": participant_body(1)}, headers=vng
        )
        assert registered.status_code == 201
        first = await mails(mail_sink, 2)
        invitation = next(m for m in first if "nieuw@bureau.nl" in m.rcpt_tos)
        confirmation = next(m for m in first if "nieuw@bureau.nl" not in m.rcpt_tos)
        register = link(parse_imip(invitation.raw, method="REQUEST").text, "aanmelden")
        cant_come = mail_link(confirmation, "/ik-kan-niet/")
        await wait_until(lambda: no_pending_jobs(conn))
        off = await client.post(f"/api/v1/meetings/{meeting['id']}/cancel", json={"reason": "ziek"}, headers=vng)
        assert off.status_code == 200
    page = await client.get(register)
    assert page.status_code == 410
    assert "gaat niet door" in page.text
    assert '<form method="post"' not in page.text, "no form to fill in for a meeting that is off"
    reply = await client.get(cant_come)
    assert "gaat niet door" in reply.text, "not 'je bent al afgemeld', as if they had cancelled"
