"""State that stays true: a person moved up from the waiting list carries no waiting-list number anywhere, and an
invitee who registers by any route shows as registered on the invitation."""

from __future__ import annotations

import csv
import io

from localdev.mailsink import MailSink
from services.db import Connection
from services.settings import Settings
from tests.api import Client, published, register, token_for
from tests.factories import participant_body
from tests.integration.invitation_helpers import mails
from workers.testing import running_workers


async def test_a_promoted_person_has_no_waiting_list_number_in_any_answer(
    client: Client, vng: dict[str, str], conn: Connection
) -> None:
    meeting = await published(client, vng, capacity=1)
    mid = meeting["id"]
    first = (await register(client, mid, 1, **vng)).json()
    second = (await register(client, mid, 2, **vng)).json()
    assert (first["status"], second["status"], second["position"]) == ("confirmed", "waitlisted", 1)
    cancelled = await client.post(f"/api/v1/registrations/{first['id']}/cancel", headers=vng)
    assert cancelled.status_code == 200, cancelled.text

    promoted = (await client.get(f"/api/v1/registrations/{second['id']}", headers=vng)).json()
    assert (promoted["status"], promoted["position"], promoted["waitlist_rank"]) == ("confirmed", None, None)
    listed = (await client.get(f"/api/v1/meetings/{mid}/registrations", headers=vng)).json()["items"]
    assert [(r["status"], r["position"]) for r in listed] == [("cancelled", None), ("confirmed", None)]
    exported = await client.get(f"/api/v1/meetings/{mid}/registrations.csv", headers=vng)
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff")), delimiter=";"))
    assert [(r["status"], r["wachtlijstnummer"], r["plaats_op_wachtlijst"]) for r in rows] == [
        ("cancelled", "", ""),
        ("confirmed", "", ""),
    ]
    mine = await client.get("/api/v1/me/registrations", headers=await token_for(conn, second["participant_id"]))
    assert [(r["status"], r["position"]) for r in mine.json()["items"]] == [("confirmed", None)]


async def test_an_invitee_registered_by_the_organiser_shows_as_registered(
    client: Client, vng: dict[str, str], mail_settings: Settings, mail_sink: MailSink
) -> None:
    """The invitation's own link and the meeting page are tested in test_participant_journey.py; a phone call to
    the organiser counts just the same."""
    meeting = await published(client, vng)
    invitations = f"/api/v1/meetings/{meeting['id']}/invitations"
    async with running_workers(mail_settings):
        emails = ["anouk@gemeente.example.nl", "bram@gemeente.example.nl"]
        batch = (await client.post(invitations, json={"emails": emails}, headers=vng)).json()
        await mails(mail_sink, 2)
    body = {"participant": {**participant_body(1), "email": "Anouk@gemeente.example.nl"}}
    registered = await client.post(f"/api/v1/meetings/{meeting['id']}/registrations", json=body, headers=vng)
    assert registered.status_code == 201, registered.text
    invitees = (await client.get(f"{invitations}/{batch['batch']['id']}/invitees", headers=vng)).json()["items"]
    assert sorted((i["email"], i["response"]) for i in invitees) == [
        ("anouk@gemeente.example.nl", "registered"),
        ("bram@gemeente.example.nl", None),
    ]
