"""Participants: find-or-create without leaking, organisers registering on behalf, lists and CSV, own data."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient

from services.db import Connection
from services.participants import tokens
from services.participants.tokens import purge_expired
from services.registrations.requests import purge_lapsed
from tests.api import published, register
from tests.factories import participant_body

Client = AsyncTestClient  # type: ignore[type-arg]


async def link_events(conn: Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT payload FROM outbox WHERE type = 'participant.link_requested' ORDER BY id")
    return [r["payload"] for r in rows]


async def test_anonymous_upsert_reveals_nothing_and_mails_a_link_once(client: Client, conn: Connection):
    new = await client.post("/api/v1/participants", json=participant_body(1))
    known = await client.post("/api/v1/participants", json=participant_body(1, name="Iemand Anders"))
    assert new.status_code == known.status_code == 202
    assert new.json() == known.json(), "a known address answers exactly like a new one"
    assert "id" not in new.json()
    assert "email" not in new.json()
    assert await conn.fetchval("SELECT name FROM participants") == "Deelnemer 1", "anonymous callers change nothing"
    # The second request within ten minutes does not mail again: nobody can flood a mailbox through us.
    assert [e["created"] for e in await link_events(conn)] == [True]


async def test_e_mail_is_matched_without_regard_to_case(client: Client, vng: dict[str, str]):
    first = await client.post("/api/v1/participants", json=participant_body(1), headers=vng)
    second = await client.post(
        "/api/v1/participants", json=participant_body(1, email="Deelnemer1@Gemeente.Example.NL"), headers=vng
    )
    # Not yet registered for any VNG meeting, so the second answer is again what VNG sent (see
    # test_cross_organisation.py); the id shows it is the same person.
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["email"] == "deelnemer1@gemeente.example.nl"


async def test_unknown_references_name_the_field(client: Client, vng: dict[str, str]):
    answer = await client.post(
        "/api/v1/participants", json=participant_body(1, organisation_code="GM9999"), headers=vng
    )
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (422, "participant.organisation_code")
    answer = await client.post("/api/v1/participants", json=participant_body(1, email="geen-adres"), headers=vng)
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (422, "email")
    meeting = await published(client, vng)
    answer = await client.post(
        f"/api/v1/meetings/{meeting['id']}/registrations",
        json={"participant": participant_body(1, professional_group="astronaut")},
    )
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (422, "participant.professional_group")
    answer = await client.post(f"/api/v1/meetings/{meeting['id']}/registrations", json={})
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (422, "participant")


async def test_organisers_register_on_behalf_list_filter_and_export(
    client: Client, vng: dict[str, str], conn: Connection, keys: Any
):
    meeting = await published(client, vng, capacity=2)
    url = f"/api/v1/meetings/{meeting['id']}/registrations"
    earlier = await published(client, vng)
    person = (
        await client.post(
            f"/api/v1/meetings/{earlier['id']}/registrations", json={"participant": participant_body(1)}, headers=vng
        )
    ).json()
    # Registered for a VNG meeting before: VNG may register them again by id.
    person["id"] = person["participant_id"]
    by_id = await client.post(url, json={"participant_id": person["id"]}, headers=vng)
    assert (by_id.status_code, by_id.json()["source"]) == (201, "organiser")
    by_details = await client.post(
        url, json={"participant": participant_body(2, name='=HYPERLINK("x")', organisation_code="GM0363")}, headers=vng
    )
    assert by_details.status_code == 201
    for n in range(3, 6):
        await register(client, meeting["id"], n)
    anonymous_by_id = await client.post(url, json={"participant_id": person["id"]})
    assert anonymous_by_id.status_code == 403

    page = (await client.get(url, params={"limit": 2}, headers=vng)).json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    rest = (await client.get(url, params={"limit": 2, "cursor": page["next_cursor"]}, headers=vng)).json()
    assert [i["participant"]["email"] for i in page["items"] + rest["items"]][:4] == [
        f"deelnemer{n}@gemeente.example.nl" for n in range(1, 5)
    ]
    waiting = (await client.get(url, params={"status": "waitlisted"}, headers=vng)).json()["items"]
    assert [(i["position"], i["waitlist_rank"]) for i in waiting] == [(1, 1), (2, 2), (3, 3)]
    amsterdam = (await client.get(url, params={"organisation": "gm0363"}, headers=vng)).json()["items"]
    assert [i["participant"]["name"] for i in amsterdam] == ['=HYPERLINK("x")']
    found = (await client.get(url, params={"q": "deelnemer5"}, headers=vng)).json()["items"]
    assert [i["waitlist_rank"] for i in found] == [3], "the rank is the place in the whole queue, not in the filter"
    bad = await client.get(url, params={"status": "zoek"}, headers=vng)
    assert bad.status_code in (400, 422)

    export = await client.get(f"{url}.csv", headers=vng)
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:5] == ["inschrijving", "status", "wachtlijstnummer", "plaats_op_wachtlijst", "naam"]
    assert len(rows) == 6
    assert rows[2][4] == '\'=HYPERLINK("x")', "formulas are defused"
    aof = await keys.headers("organiser", "AOF")
    assert (await client.get(f"{url}.csv", headers=aof)).status_code == 403
    assert (await client.get(url)).status_code == 401


async def test_my_data_export_rotate_and_erase(client: Client, vng: dict[str, str], conn: Connection):
    meeting = await published(client, vng, capacity=1)
    mine = (await register(client, meeting["id"], 1)).json()
    waiting = (await register(client, meeting["id"], 2)).json()
    token = await tokens.issue(conn, UUID(mine["participant_id"]), "manage")
    me = {"Authorization": f"Bearer {token}"}

    assert (await client.get("/api/v1/me", headers=me)).json()["email"] == "deelnemer1@gemeente.example.nl"
    patched = await client.patch("/api/v1/me", json={"name": "Nieuwe Naam", "locale": "en"}, headers=me)
    assert (patched.json()["name"], patched.json()["locale"]) == ("Nieuwe Naam", "en")
    bad = await client.patch("/api/v1/me", json={"email": "ander@example.nl"}, headers=me)
    assert bad.status_code == 422, "the address is how we find you; it is not changed here"
    listed = (await client.get("/api/v1/me/registrations", params={"token": token})).json()["items"]
    assert [(r["id"], r["meeting"]["title"]) for r in listed] == [(mine["id"], meeting["title"])]
    export = (await client.get("/api/v1/me/export", headers=me)).json()
    assert export["participant"]["id"] == mine["participant_id"]
    assert [r["id"] for r in export["registrations"]] == [mine["id"]]
    assert export["tokens"][0]["purpose"] == "manage"
    assert "token_hash" not in str(export)

    rotated = await client.post("/api/v1/me/token", headers=me)
    assert rotated.status_code == 201
    assert (await client.get("/api/v1/me", headers=me)).status_code == 401, "the old link stopped working"
    me = {"Authorization": f"Bearer {rotated.json()['token']}"}

    erased = await client.delete("/api/v1/me", headers=me)
    assert erased.status_code == 200, erased.text
    assert erased.json()["cancelled_registrations"] == 1
    assert (await client.get("/api/v1/me", headers=me)).status_code == 401
    row = await conn.fetchrow(
        "SELECT email, name, erased_at FROM participants WHERE id = $1", UUID(mine["participant_id"])
    )
    assert row["name"] == "Gewist"
    assert row["email"].endswith("@invalid")
    assert row["erased_at"]
    second = await conn.fetchval("SELECT status FROM registrations WHERE id = $1", UUID(waiting["id"]))
    assert second == "confirmed", "the erased person's seat went down the waiting list"
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE type = 'participant.erased'") == 1
    # The address is free again: the same person may come back as someone new.
    again = await register(client, meeting["id"], 1)
    assert again.status_code == 201
    assert again.json()["participant_id"] != mine["participant_id"]


async def test_revoking_the_current_link(client: Client, vng: dict[str, str], conn: Connection):
    meeting = await published(client, vng)
    reg = (await register(client, meeting["id"], 1)).json()
    keep = await tokens.issue(conn, UUID(reg["participant_id"]), "manage")
    drop = await tokens.issue(conn, UUID(reg["participant_id"]), "manage")
    assert (await client.delete("/api/v1/me/token", headers={"Authorization": f"Bearer {drop}"})).status_code == 204
    assert (await client.get("/api/v1/me", params={"token": drop})).status_code == 401
    assert (await client.get("/api/v1/me", params={"token": keep})).status_code == 200
    assert (await client.get("/api/v1/me", headers={"Authorization": "Bearer lkr_x_y"})).status_code == 401


async def test_lapsed_requests_and_long_dead_links_are_forgotten(client: Client, vng: dict[str, str], conn: Connection):
    meeting = await published(client, vng)
    url = f"/api/v1/meetings/{meeting['id']}/registrations"
    for n in (1, 2):
        assert (await client.post(url, json={"participant": participant_body(n)})).status_code == 202
    await conn.execute(
        "UPDATE registration_requests SET expires_at = now() - interval '8 days' "
        "WHERE participant_id = (SELECT id FROM participants WHERE email = 'deelnemer1@gemeente.example.nl')"
    )
    assert await purge_lapsed(conn) == 1
    left = await conn.fetch(
        "SELECT p.email FROM registration_requests r JOIN participants p ON p.id = r.participant_id"
    )
    assert [r["email"] for r in left] == ["deelnemer2@gemeente.example.nl"], "an open request stays"

    person = UUID((await client.post("/api/v1/participants", json=participant_body(3), headers=vng)).json()["id"])
    now = datetime.now(UTC)
    dead = await tokens.issue(conn, person, "manage", expires_at=now - timedelta(days=31))
    recent = await tokens.issue(conn, person, "manage", expires_at=now - timedelta(days=1))
    assert await purge_expired(conn) == 1
    assert await tokens.state(conn, dead, "manage") is None
    assert await tokens.state(conn, recent, "manage") == "expired", "a recently expired link can still say why"
