"""Inviting an audience: the API answers at once, workers resolve and send one iMIP mail per invitee."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from localdev.mailsink import MailSink
from services.calendar import meeting_uid
from services.db import Connection
from services.me.service import erase
from services.settings import Settings
from tests.factories import meeting_body
from tests.integration.invitation_helpers import (
    Client,
    add_participants,
    batch_done,
    by_recipient,
    invite,
    mails,
    published_meeting,
)
from tests.invitation_checks import parse_imip
from workers.testing import running_workers, wait_until


async def test_invite_answers_at_once_with_the_batch_and_the_bad_addresses(
    client: Client, vng: dict[str, str], conn: Connection
) -> None:
    meeting = await published_meeting(client, vng)
    await add_participants(conn, 5)
    body = await invite(
        client,
        vng,
        meeting["id"],
        groups=["wmo-consulent"],
        regions=["VR15"],
        emails=["extern@bureau.nl", "Els <ELS@bureau.nl>", "kapot@", "a@b.nl\nBcc: x@y.nl", "extern@bureau.nl"],
    )
    batch = body["batch"]
    assert batch["state"] == "requested"
    assert batch["groups"] == ["wmo-consulent"]
    assert batch["regions"] == ["VR15"]
    assert batch["email_count"] == 2
    assert body["progress_url"] == f"/api/v1/meetings/{meeting['id']}/invitations/{batch['id']}"
    assert body["accepted_emails"] == 2
    assert body["duplicates"] == ["extern@bureau.nl"]
    assert [r["reason"] for r in body["rejected"]] == ["Geen geldig e-mailadres", "Bevat een regeleinde of stuurteken"]
    # The request wrote the batch and its event, nothing else: no invitee rows, no mail.
    assert await conn.fetchval("SELECT count(*) FROM invitations") == 0
    events = await conn.fetch("SELECT type, payload FROM outbox WHERE type = 'invitation.requested'")
    assert [e["payload"]["batch_id"] for e in events] == [batch["id"]]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"groups": ["bestaat-niet"]}, 422, "groups"),
        ({"organisations": ["GM9999"]}, 422, "organisations"),
        ({"regions": ["VR99"]}, 422, "regions"),
        ({"regions": ["XX01"]}, 422, "regions"),
        ({}, 422, None),
        ({"emails": ["kapot", "ook kapot"]}, 422, "emails"),
        ({"groups": ["wmo-consulent"], "resend": "altijd"}, 422, "resend"),
        ({"groups": ["wmo-consulent"], "onbekend": 1}, 422, "onbekend"),
        ({"emails": ["x"] * 10_001}, 422, "emails"),  # more than MAX_PASTED
    ],
)
async def test_bad_requests_are_problem_details(
    client: Client, vng: dict[str, str], body: dict[str, Any], status: int, field: str | None
) -> None:
    meeting = await published_meeting(client, vng)
    response = await client.post(f"/api/v1/meetings/{meeting['id']}/invitations", json=body, headers=vng)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field:
        assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.json()


async def test_only_organisers_of_a_published_meeting_may_invite(
    client: Client, vng: dict[str, str], bzk: dict[str, str], keys: Any
) -> None:
    meeting = await published_meeting(client, vng)
    url = f"/api/v1/meetings/{meeting['id']}/invitations"
    other = await keys.headers("organiser", "AOF")
    assert (await client.post(url, json={"groups": ["wmo-consulent"]}, headers=bzk)).status_code == 403
    assert (await client.post(url, json={"groups": ["wmo-consulent"]}, headers=other)).status_code == 403
    assert (await client.post(url, json={"groups": ["wmo-consulent"]})).status_code == 401
    draft = await client.post("/api/v1/meetings", json=meeting_body(), headers=vng)
    # Another organisation's draft does not exist as far as they can tell.
    response = await client.post(
        f"/api/v1/meetings/{draft.json()['id']}/invitations", json={"groups": ["wmo-consulent"]}, headers=other
    )
    assert response.status_code == 404


async def test_drafts_and_cancelled_meetings_take_no_invitations(client: Client, vng: dict[str, str]) -> None:
    draft = (await client.post("/api/v1/meetings", json=meeting_body(), headers=vng)).json()
    url = f"/api/v1/meetings/{draft['id']}/invitations"
    assert (await client.post(url, json={"groups": ["wmo-consulent"]}, headers=vng)).status_code == 409
    await client.post(f"/api/v1/meetings/{draft['id']}/cancel", headers=vng)
    assert (await client.post(url, json={"groups": ["wmo-consulent"]}, headers=vng)).status_code == 409


async def test_invitations_arrive_one_per_person_in_their_language(
    client: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published_meeting(client, vng, title="Intervisie: ‘samen’, met elkaar; en meer")
    dutch = await add_participants(conn, 4, prefix="nl")
    english = await add_participants(conn, 2, prefix="en", locale="en")
    await add_participants(conn, 3, prefix="jeugd", group="jeugdconsulent")  # not in the audience
    await add_participants(conn, 2, prefix="adam", organisation="GM0363")  # other region
    body = await invite(
        client, vng, meeting["id"], groups=["wmo-consulent"], regions=["VR15"], emails=["Externe Els <els@bureau.nl>"]
    )
    async with running_workers(mail_settings):
        received = await mails(mail_sink, 7)
        await wait_until(lambda: batch_done(conn, body["batch"]["id"]), within=10)
    per = by_recipient(received)
    assert sorted(per) == sorted([*dutch, *english, "els@bureau.nl"])
    assert all(len(v) == 1 for v in per.values())
    for address, (item,) in per.items():
        parsed = parse_imip(item.raw, method="REQUEST", to=address)
        assert parsed.uid == meeting_uid(meeting["id"])
        assert parsed.sequence == meeting["sequence"]
        assert parsed.summary == "Intervisie: ‘samen’, met elkaar; en meer"
        subject = str(parsed.message["Subject"])
        assert subject.startswith("Invitation: " if address.startswith("en") else "Uitnodiging: ")
        assert "/uitnodiging/aanmelden/" in parsed.text
    assert "Beste Externe Els," in parse_imip(per["els@bureau.nl"][0].raw, method="REQUEST").text

    progress = (await client.get(body["progress_url"], headers=vng)).json()
    assert progress["state"] == "done"
    assert progress["counts"] == {"total": 7, "queued": 0, "sent": 7, "failed": 0, "bounced": 0, "skipped": 0}
    page = (await client.get(body["progress_url"] + "/invitees?limit=5", headers=vng)).json()
    assert len(page["items"]) == 5
    assert all(i["status"] == "sent" for i in page["items"])
    rest = (await client.get(body["progress_url"] + f"/invitees?cursor={page['next_cursor']}", headers=vng)).json()
    assert len(rest["items"]) == 2
    assert rest["next_cursor"] is None
    listing = (await client.get(f"/api/v1/meetings/{meeting['id']}/invitations", headers=vng)).json()
    assert [b["id"] for b in listing["items"]] == [body["batch"]["id"]]
    assert listing["next_cursor"] is None


async def test_inviting_again_sends_only_to_new_people_unless_asked(
    client: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published_meeting(client, vng)
    first = await add_participants(conn, 3, prefix="a")
    async with running_workers(mail_settings):
        one = await invite(client, vng, meeting["id"], groups=["wmo-consulent"])
        await mails(mail_sink, 3)
        await wait_until(lambda: batch_done(conn, one["batch"]["id"]))
        later = await add_participants(conn, 2, prefix="b")
        # One of the first three answered (declined): a resend leaves them alone.
        await conn.execute(
            "INSERT INTO invitation_responses (meeting_id, email, response, source) "
            "VALUES ($1, $2, 'declined', 'link')",
            UUID(meeting["id"]),
            first[0],
        )
        two = await invite(client, vng, meeting["id"], groups=["wmo-consulent"])
        await mails(mail_sink, 5)
        await wait_until(lambda: batch_done(conn, two["batch"]["id"]))
        three = await invite(client, vng, meeting["id"], groups=["wmo-consulent"], resend="not_responded")
        await mails(mail_sink, 9)
        await wait_until(lambda: batch_done(conn, three["batch"]["id"]))
    per = by_recipient(mail_sink.messages)
    assert {a: len(v) for a, v in per.items()} == {first[0]: 1, first[1]: 2, first[2]: 2, later[0]: 2, later[1]: 2}
    batches = {
        b["id"]: b
        for b in (await client.get(f"/api/v1/meetings/{meeting['id']}/invitations", headers=vng)).json()["items"]
    }
    assert batches[two["batch"]["id"]]["counts"]["sent"] == 2
    assert batches[two["batch"]["id"]]["counts"]["skipped"] == 3
    assert batches[three["batch"]["id"]]["counts"]["sent"] == 4


async def test_saved_lists_join_the_audience(
    client: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published_meeting(client, vng)
    hr = await add_participants(conn, 2, prefix="hr", group="hr-adviseur", organisation="GM0599")
    saved = await client.post(
        "/api/v1/audience-lists",
        json={
            "name": "HR Rotterdam",
            "groups": ["hr-adviseur"],
            "organisations": ["GM0599"],
            "emails": ["x@y.nl", "fout"],
        },
        headers=vng,
    )
    assert saved.status_code == 201, saved.text
    assert [r["value"] for r in saved.json()["rejected"]] == ["fout"]
    list_id = saved.json()["audience_list"]["id"]
    assert [x["id"] for x in (await client.get("/api/v1/audience-lists", headers=vng)).json()] == [list_id]
    body = await invite(client, vng, meeting["id"], lists=[list_id])
    async with running_workers(mail_settings):
        await mails(mail_sink, 3)
        await wait_until(lambda: batch_done(conn, body["batch"]["id"]))
    assert sorted(by_recipient(mail_sink.messages)) == sorted([*hr, "x@y.nl"])
    assert (await client.delete(f"/api/v1/audience-lists/{list_id}", headers=vng)).status_code == 204
    assert (await client.delete(f"/api/v1/audience-lists/{list_id}", headers=vng)).status_code == 404


async def test_preview_renders_the_real_meeting(client: Client, vng: dict[str, str]) -> None:
    meeting = await published_meeting(client, vng, title="Leren op locatie")
    url = f"/api/v1/meetings/{meeting['id']}/invitations/preview"
    nl = (await client.get(url, params={"note": "Tot dan!"}, headers=vng)).json()
    assert nl["subject"] == "Uitnodiging: Leren op locatie"
    assert "Tot dan!" in nl["text"]
    assert "Tot dan!" in nl["html"]
    assert nl["content_type"] == "text/calendar; charset=utf-8; method=REQUEST"
    assert f"UID:{meeting_uid(meeting['id'])}\r\n" in nl["ics"]
    en = (await client.get(url, params={"locale": "en", "kind": "update"}, headers=vng)).json()
    assert en["subject"] == "Updated: Leren op locatie"
    assert "What changed" in en["text"]
    cancel = (await client.get(url, params={"kind": "cancellation"}, headers=vng)).json()
    assert "METHOD:CANCEL\r\n" in cancel["ics"]
    assert "STATUS:CANCELLED\r\n" in cancel["ics"]
    assert (await client.get(url, params={"locale": "de"}, headers=vng)).status_code == 422


async def test_an_erased_participant_leaves_no_address_behind(
    client: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    meeting = await published_meeting(client, vng)
    (email,) = await add_participants(conn, 1)
    async with running_workers(mail_settings):
        body = await invite(client, vng, meeting["id"], groups=["wmo-consulent"])
        await mails(mail_sink, 1)
        await wait_until(lambda: batch_done(conn, body["batch"]["id"]))
        await conn.execute(
            "INSERT INTO invitation_responses (meeting_id, email, response, source) "
            "VALUES ($1, $2, 'declined', 'link')",
            UUID(meeting["id"]),
            email,
        )
        pid = await conn.fetchval("SELECT id FROM participants WHERE email = $1", email)
        async with conn.transaction():
            await erase(conn, pid, secret=mail_settings.secret_key)

        async def forgotten() -> bool:
            return bool(await conn.fetchval("SELECT count(*) = 0 FROM invitations WHERE email = $1", email))

        await wait_until(forgotten)
    row = await conn.fetchrow("SELECT email, name, participant_id, status FROM invitations")
    assert row["email"].startswith("verwijderd-")
    assert (row["name"], row["participant_id"], row["status"]) == ("", None, "sent")
    assert await conn.fetchval("SELECT count(*) FROM invitation_responses") == 0
