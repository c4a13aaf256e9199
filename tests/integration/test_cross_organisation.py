"""One organising body never sees another's participants: not in invitee lists, not through participant upserts,
not by registering someone by id. A person becomes known to a body by registering for one of its meetings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.db import Connection
from services.settings import Settings
from tests.conftest import Keys
from tests.factories import meeting_body, participant_body
from tests.integration.invitation_helpers import Client, batch_done, invite, published_meeting
from workers.testing import running_workers, wait_until

SECRET_NAME = "Anouk de Vries (alleen BZK kent mij)"


@pytest.fixture
async def bzk(keys: Keys) -> dict[str, str]:
    """An organiser of another organising body than VNG."""
    return await keys.headers("organiser", "BZK")


async def bzk_participant(client: Client, bzk: dict[str, str]) -> str:
    """Someone who only ever dealt with BZK: registered by BZK staff for a BZK meeting, consenting to invitations."""
    meeting = await published_meeting(client, bzk)
    body = participant_body(1, name=SECRET_NAME, invitation_consent=True)
    answer = await client.post(
        f"/api/v1/meetings/{meeting['id']}/registrations", json={"participant": body}, headers=bzk
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["participant_id"])


async def test_an_audience_by_criteria_shows_delivery_state_not_other_bodies_people(
    client: Client,
    vng: dict[str, str],
    bzk: dict[str, str],
    admin: dict[str, str],
    mail_settings: Settings,
    conn: Connection,
):
    await bzk_participant(client, bzk)
    meeting = await published_meeting(client, vng)
    async with running_workers(mail_settings):
        body = await invite(client, vng, meeting["id"], groups=["wmo-consulent"], emails=["zelf@bureau.nl"])
        await wait_until(lambda: batch_done(conn, body["batch"]["id"]), within=20)
    seen_by_vng = (await client.get(body["progress_url"] + "/invitees", headers=vng)).json()["items"]
    by_status = sorted((i["email"] or "", i["name"], i["participant_id"], i["status"]) for i in seen_by_vng)
    assert by_status == [("", "", None, "sent"), ("zelf@bureau.nl", "", None, "sent")], by_status
    assert [i["email"] for i in seen_by_vng].count(None) == 1
    assert SECRET_NAME not in str(seen_by_vng)
    seen_by_admin = (await client.get(body["progress_url"] + "/invitees", headers=admin)).json()["items"]
    assert {i["email"] for i in seen_by_admin} == {"deelnemer1@gemeente.example.nl", "zelf@bureau.nl"}

    # Once the person registers for one of VNG's meetings, VNG knows them.
    registered = await client.post(
        f"/api/v1/meetings/{meeting['id']}/registrations", json={"participant": participant_body(1)}, headers=vng
    )
    assert registered.status_code == 201
    known = (await client.get(body["progress_url"] + "/invitees", headers=vng)).json()["items"]
    assert "deelnemer1@gemeente.example.nl" in {i["email"] for i in known}


async def test_an_upsert_tells_nothing_about_a_person_known_only_elsewhere(
    client: Client, vng: dict[str, str], bzk: dict[str, str], conn: Connection
):
    await bzk_participant(client, bzk)
    typed = participant_body(1, name="Zoals VNG het typte", organisation_code="GM0363")
    answer = await client.post("/api/v1/participants", json=typed, headers=vng)
    new = await client.post("/api/v1/participants", json=participant_body(2), headers=vng)
    assert answer.status_code == new.status_code == 201, "known elsewhere answers like new"
    shown = answer.json()
    assert (shown["name"], shown["organisation_code"]) == ("Zoals VNG het typte", "GM0363")
    assert datetime.fromisoformat(shown["created_at"]) > datetime.now(UTC) - timedelta(minutes=1)
    assert await conn.fetchval("SELECT name FROM participants WHERE id = $1", shown["id"]) == SECRET_NAME, (
        "and nothing of theirs is overwritten"
    )
    again = await client.post("/api/v1/participants", json=participant_body(1), headers=bzk)
    assert (again.status_code, again.json()["name"]) == (200, SECRET_NAME), "the body that knows them sees them"


async def test_registering_by_id_is_for_people_the_body_knows(
    client: Client, vng: dict[str, str], bzk: dict[str, str], admin: dict[str, str]
):
    person = await bzk_participant(client, bzk)
    vng_meeting = await published_meeting(client, vng)
    url = f"/api/v1/meetings/{vng_meeting['id']}/registrations"
    refused = await client.post(url, json={"participant_id": person}, headers=vng)
    missing = await client.post(url, json={"participant_id": "00000000-0000-4000-8000-000000000000"}, headers=vng)
    assert refused.status_code == missing.status_code == 422
    assert refused.json()["detail"] == missing.json()["detail"], "an unknown id and a foreign one look alike"
    assert refused.json()["errors"][0]["field"] == "participant_id"
    second_bzk = await published_meeting(client, bzk)
    by_bzk = await client.post(
        f"/api/v1/meetings/{second_bzk['id']}/registrations", json={"participant_id": person}, headers=bzk
    )
    assert by_bzk.status_code == 201, "BZK registered them before, so it may again by id"
    assert (await client.post(url, json={"participant_id": person}, headers=admin)).status_code == 201


async def test_series_are_their_bodys_own(
    client: Client, vng: dict[str, str], bzk: dict[str, str], admin: dict[str, str]
):
    made = await client.post("/api/v1/series", json={"title": "VNG-reeks Wmo"}, headers=vng)
    assert made.status_code == 201, made.text
    series_id = made.json()["id"]
    assert (await client.get("/api/v1/series")).status_code == 401, "not public"
    assert [s["id"] for s in (await client.get("/api/v1/series", headers=vng)).json()["items"]] == [series_id]
    assert (await client.get("/api/v1/series", headers=bzk)).json() == {"items": [], "next_cursor": None}
    assert [s["id"] for s in (await client.get("/api/v1/series", headers=admin)).json()["items"]] == [series_id]
    for n in range(3):
        assert (await client.post("/api/v1/series", json={"title": f"Reeks {n}"}, headers=vng)).status_code == 201
    first = (await client.get("/api/v1/series", params={"limit": 3}, headers=vng)).json()
    rest = (await client.get("/api/v1/series", params={"cursor": first["next_cursor"]}, headers=vng)).json()
    assert [len(first["items"]), len(rest["items"]), rest["next_cursor"]] == [3, 1, None]
    assert first["items"][0]["id"] == series_id, "oldest first"
    foreign = await client.post("/api/v1/meetings", json=meeting_body(series_id=series_id), headers=bzk)
    unknown = await client.post(
        "/api/v1/meetings", json=meeting_body(series_id="00000000-0000-4000-8000-000000000000"), headers=bzk
    )
    assert foreign.status_code == unknown.status_code == 422
    assert foreign.json()["errors"] == unknown.json()["errors"], "another body's series looks like none at all"
    own = await client.post("/api/v1/meetings", json=meeting_body(series_id=series_id), headers=vng)
    assert own.status_code == 201, own.text
