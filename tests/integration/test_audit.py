"""The audit log: every change with who made it (key and role, participant, system), exports and key changes;
admins read it; it holds no secrets, tokens, addresses or free text."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient

from services.auth.keys import create_key, revoke_key
from services.db import Connection
from services.participants import tokens
from tests.factories import meeting_body, participant_body

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_who_did_what_is_recorded_for_admins_and_holds_nothing_secret(
    client: Client, conn: Connection, admin: dict[str, str]
):
    vng_key, vng_row = await create_key(conn, role="organiser", organisation_code="VNG", name="vng")
    aof_key, aof_row = await create_key(conn, role="funder", organisation_code="AOF", name="aof")
    vng = {"Authorization": f"Bearer {vng_key}"}
    aof = {"Authorization": f"Bearer {aof_key}"}
    created = (await client.post("/api/v1/meetings", json=meeting_body(), headers=vng)).json()
    mid = created["id"]
    assert (await client.post(f"/api/v1/meetings/{mid}/publish", headers=vng)).status_code == 200
    reg = await client.post(f"/api/v1/meetings/{mid}/registrations", json={"participant": participant_body(7)},
                            headers=vng)  # fmt: skip
    assert reg.status_code == 201, reg.text
    registration = reg.json()
    token = await tokens.issue(conn, UUID(registration["participant_id"]), "manage")
    mine = {"Authorization": f"Bearer {token}"}
    cancelled = await client.post(f"/api/v1/registrations/{registration['id']}/cancel", headers=mine)
    assert cancelled.status_code == 200, cancelled.text
    stop = await client.post(f"/api/v1/meetings/{mid}/cancel", json={"reason": "Geheime reden van mevrouw Jansen"},
                             headers=vng)  # fmt: skip
    assert stop.status_code == 200, stop.text
    assert (await client.get("/api/v1/reports/attendance", params={"format": "csv"}, headers=aof)).status_code == 200
    await revoke_key(conn, vng_row.prefix)

    assert (await client.get("/api/v1/audit", headers=aof)).status_code == 403
    assert (await client.get("/api/v1/audit")).status_code == 401
    answer = await client.get("/api/v1/audit", params={"limit": "200"}, headers=admin)
    assert answer.status_code == 200, answer.text
    entries = list(reversed(answer.json()["items"]))
    about_meeting = [(e["action"], e["actor_role"], e["key_id"]) for e in entries if e["meeting_id"] == mid]
    assert about_meeting == [
        ("meeting.published", "organiser", str(vng_row.id)),
        ("registration.confirmed", "organiser", str(vng_row.id)),
        ("registration.cancelled", "participant", None),
        ("meeting.cancelled", "organiser", str(vng_row.id)),
    ]
    by_action = {e["action"]: e for e in entries}
    assert by_action["registration.cancelled"]["actor_participant_id"] == registration["participant_id"]
    assert by_action["registration.cancelled"]["object_id"] == registration["id"]
    assert by_action["registration.cancelled"]["detail"] == {"previous_status": "confirmed"}
    export = by_action["report.exported"]
    assert (export["actor_role"], export["key_id"], export["detail"]["format"]) == ("funder", str(aof_row.id), "csv")
    assert by_action["api_key.revoked"]["object_id"] == str(vng_row.id)
    assert by_action["api_key.created"]["actor_role"] == "system", "made on the command line"

    only = await client.get("/api/v1/audit", params={"meetingId": mid}, headers=admin)
    assert len(only.json()["items"]) == 4
    page = await client.get("/api/v1/audit", params={"limit": "2"}, headers=admin)
    older = await client.get("/api/v1/audit", params={"before": page.json()["next_cursor"]}, headers=admin)
    assert int(older.json()["items"][0]["id"]) < int(page.json()["items"][-1]["id"])

    text = answer.text.lower()
    for secret in (vng_key, aof_key, token, "geheime reden", "jansen", "deelnemer7", "deelnemer 7",
                   created["title"].lower(), vng_key.split("_", 2)[2]):  # fmt: skip
        assert secret.lower() not in text, secret


async def test_an_update_records_which_fields_changed_not_their_values(
    client: Client, vng: dict[str, str], admin: dict[str, str], keys: Any
):
    mid = (await client.post("/api/v1/meetings", json=meeting_body(), headers=vng)).json()["id"]
    await client.post(f"/api/v1/meetings/{mid}/publish", headers=vng)
    changed = await client.patch(f"/api/v1/meetings/{mid}", json={"title": "Nieuwe titel met naam Pietersen"},
                                 headers=vng)  # fmt: skip
    assert changed.status_code == 200, changed.text
    entries = (await client.get("/api/v1/audit", params={"meetingId": mid}, headers=admin)).json()["items"]
    update = next(e for e in entries if e["action"] == "meeting.updated")
    assert update["detail"]["changed"] == ["title"]
    assert "Pietersen" not in str(entries)


async def test_an_actor_never_sticks_to_a_pooled_connection(settings: Any, conn: Connection, vng: dict[str, str]):
    """Registering runs on a connection without a request transaction, so its actor is set for the session; with a
    pool of one connection the next, anonymous, request gets that same connection and must be the system."""
    import msgspec

    from services.app import create_app

    one = msgspec.structs.replace(settings, db_pool_min=1, db_pool_max=1)
    async with AsyncTestClient(app=create_app(one)) as client:
        mid = (await client.post("/api/v1/meetings", json=meeting_body(), headers=vng)).json()["id"]
        await client.post(f"/api/v1/meetings/{mid}/publish", headers=vng)
        staff = await client.post(f"/api/v1/meetings/{mid}/registrations", json={"participant": participant_body(1)},
                                  headers=vng)  # fmt: skip
        assert staff.status_code == 201
        anonymous = await client.post(
            f"/api/v1/meetings/{mid}/registrations", json={"participant": participant_body(2)}
        )
        assert anonymous.status_code == 202, anonymous.text
    rows = await conn.fetch("SELECT action, actor_role FROM audit_log WHERE meeting_id = $1 ORDER BY id", UUID(mid))
    assert [(r["action"], r["actor_role"]) for r in rows] == [
        ("meeting.published", "organiser"),
        ("registration.confirmed", "organiser"),
        ("registration.requested", "system"),
    ]
