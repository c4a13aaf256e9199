"""The meetings API against a real database: life cycle, role rules, events in the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from services.db import Connection
from tests.factories import meeting_body

Client = AsyncTestClient  # type: ignore[type-arg]


async def create(client: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/meetings", json=meeting_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def outbox(conn: Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT type, aggregate_id, payload FROM outbox ORDER BY id")
    return [dict(r) for r in rows]


async def test_create_is_a_draft_of_the_callers_organisation(client: Client, vng: dict[str, str], conn: Connection):
    meeting = await create(client, vng)
    assert meeting["status"] == "draft"
    assert meeting["organiser_codes"] == ["VNG"]
    assert meeting["sequence"] == 0
    assert meeting["starts_at"].endswith(("+01:00", "+02:00")), "times come back in the meeting's own zone"
    assert meeting["venue"] == {"name": "Stadhuis", "address": "Spui 70", "city": "Den Haag"}
    assert await outbox(conn) == [], "a draft is private: no event yet"


async def test_publish_update_cancel_write_events_and_bump_sequence(
    client: Client, vng: dict[str, str], conn: Connection
):
    meeting = await create(client, vng)
    mid = meeting["id"]
    published = (await client.post(f"/api/v1/meetings/{mid}/publish", headers=vng)).json()
    assert published["status"] == "published"
    assert published["sequence"] == 0

    # A title change is not a calendar-moving change: sequence stays, revision rises.
    renamed = (await client.patch(f"/api/v1/meetings/{mid}", json={"title": "Nieuwe titel"}, headers=vng)).json()
    assert renamed["sequence"] == 0
    assert renamed["revision"] == published["revision"] + 1

    later = datetime.fromisoformat(meeting["starts_at"]) + timedelta(hours=1)
    moved = await client.patch(
        f"/api/v1/meetings/{mid}",
        json={"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=4)).isoformat()},
        headers=vng,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["sequence"] == 1

    cancelled = await client.post(f"/api/v1/meetings/{mid}/cancel", json={"reason": "Ziek"}, headers=vng)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["sequence"] == 2

    events = await outbox(conn)
    assert [e["type"] for e in events] == [
        "meeting.published",
        "meeting.updated",
        "meeting.updated",
        "meeting.cancelled",
    ]
    assert all(str(e["aggregate_id"]) == mid for e in events)
    title_change, time_change = events[1]["payload"], events[2]["payload"]
    assert title_change["changes"] == [{"field": "title", "old": meeting["title"], "new": "Nieuwe titel"}]
    assert title_change["reschedule"] is False
    assert {c["field"] for c in time_change["changes"]} == {"starts_at", "ends_at"}
    assert time_change["reschedule"] is True
    assert time_change["sequence"] == 1
    assert events[3]["payload"]["reason"] == "Ziek"


async def test_unchanged_patch_writes_nothing(client: Client, vng: dict[str, str], conn: Connection):
    meeting = await create(client, vng)
    await client.post(f"/api/v1/meetings/{meeting['id']}/publish", headers=vng)
    same = await client.patch(f"/api/v1/meetings/{meeting['id']}", json={"title": meeting["title"]}, headers=vng)
    assert same.status_code == 200
    assert same.json()["revision"] == meeting["revision"] + 1  # only the publish
    assert [e["type"] for e in await outbox(conn)] == ["meeting.published"]


async def test_a_failed_request_leaves_no_half_written_state(client: Client, vng: dict[str, str], conn: Connection):
    meeting = await create(client, vng)
    await client.post(f"/api/v1/meetings/{meeting['id']}/publish", headers=vng)
    bad = await client.patch(
        f"/api/v1/meetings/{meeting['id']}", json={"title": "Goed", "themes": ["bestaat-niet"]}, headers=vng
    )
    assert bad.status_code == 422
    again = (await client.get(f"/api/v1/meetings/{meeting['id']}", headers=vng)).json()
    assert again["title"] == meeting["title"]
    assert [e["type"] for e in await outbox(conn)] == ["meeting.published"]


async def test_publishing_twice_or_after_cancel_is_a_conflict(client: Client, vng: dict[str, str]):
    meeting = await create(client, vng)
    mid = meeting["id"]
    assert (await client.post(f"/api/v1/meetings/{mid}/publish", headers=vng)).status_code == 200
    again = await client.post(f"/api/v1/meetings/{mid}/publish", headers=vng)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    await client.post(f"/api/v1/meetings/{mid}/cancel", headers=vng)
    after_cancel = await client.post(f"/api/v1/meetings/{mid}/publish", headers=vng)
    assert after_cancel.status_code == 409
    assert "geannuleerd" in after_cancel.json()["detail"]
    edit = await client.patch(f"/api/v1/meetings/{mid}", json={"capacity": 5}, headers=vng)
    assert edit.status_code == 409


async def test_other_organising_body_may_not_edit(client: Client, vng: dict[str, str], keys: Any):
    meeting = await create(client, vng)
    await client.post(f"/api/v1/meetings/{meeting['id']}/publish", headers=vng)
    aof = await keys.headers("organiser", "AOF")
    response = await client.patch(f"/api/v1/meetings/{meeting['id']}", json={"capacity": 5}, headers=aof)
    assert response.status_code == 403
    assert response.json()["title"] == "Geen toegang"
    # ... nor create a meeting in VNG's name.
    forged = await client.post("/api/v1/meetings", json=meeting_body(organiser_codes=["VNG"]), headers=aof)
    assert forged.status_code == 403


async def test_funders_read_only_what_they_fund_and_never_write(
    client: Client, vng: dict[str, str], bzk: dict[str, str], keys: Any
):
    funded = await create(client, vng, funder_codes=["BZK"])
    other = await create(client, vng, funder_codes=["AOF"])
    for m in (funded, other):
        await client.post(f"/api/v1/meetings/{m['id']}/publish", headers=vng)
    listed = (await client.get("/api/v1/meetings", headers=bzk)).json()["items"]
    assert [m["id"] for m in listed] == [funded["id"]]
    assert (await client.get(f"/api/v1/meetings/{other['id']}", headers=bzk)).status_code == 404
    assert (await client.post("/api/v1/meetings", json=meeting_body(), headers=bzk)).status_code == 403


async def test_drafts_are_hidden_from_the_public_and_other_organisers(client: Client, vng: dict[str, str], keys: Any):
    draft = await create(client, vng)
    assert (await client.get(f"/api/v1/meetings/{draft['id']}")).status_code == 404
    aof = await keys.headers("organiser", "AOF")
    assert (await client.get(f"/api/v1/meetings/{draft['id']}", headers=aof)).status_code == 404
    assert (await client.get(f"/api/v1/meetings/{draft['id']}", headers=vng)).status_code == 200
    assert (await client.get("/api/v1/meetings")).json()["items"] == []


async def test_list_pages_in_stable_start_order(client: Client, vng: dict[str, str]):
    base = datetime(2031, 3, 2, 9, 0, tzinfo=UTC)
    ids = []
    for i in range(7):
        # two meetings share each start time so the id tie-breaker is exercised
        start = base + timedelta(days=i // 2)
        m = await create(
            client, vng, starts_at=start.isoformat(), ends_at=(start + timedelta(hours=1)).isoformat(), title=f"M{i}"
        )
        await client.post(f"/api/v1/meetings/{m['id']}/publish", headers=vng)
        ids.append((m["starts_at"], m["id"]))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/meetings", params=params)).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = [mid for _, mid in sorted(ids, key=lambda p: (datetime.fromisoformat(p[0]), p[1]))]
    assert seen == expected


async def test_list_filters(client: Client, vng: dict[str, str], admin: dict[str, str]):
    region = await client.post(
        "/api/v1/organisations",
        json={"code": "REG-HAAGLANDEN", "name": "Regio Haaglanden", "kind": "region", "member_codes": ["GM0518"]},
        headers=admin,
    )
    assert region.status_code == 201, region.text
    specs = {
        "theme": meeting_body(themes=["vraagverheldering"]),
        "group": meeting_body(audience={"groups": ["jeugdconsulent"]}),
        "province": meeting_body(audience={"regions": ["PV28"]}),
        "region": meeting_body(audience={"organisations": ["REG-HAAGLANDEN"]}),
        "elsewhere": meeting_body(audience={"organisations": ["GM0363"]}),
    }
    made: dict[str, str] = {}
    for name, body in specs.items():
        m = (await client.post("/api/v1/meetings", json=body, headers=vng)).json()
        await client.post(f"/api/v1/meetings/{m['id']}/publish", headers=vng)
        made[m["id"]] = name

    async def names(**params: Any) -> set[str]:
        items = (await client.get("/api/v1/meetings", params=params)).json()["items"]
        return {made[m["id"]] for m in items}

    assert await names(theme="vraagverheldering") == {"theme"}
    # What is open to them: aimed at them, or at everyone (the group and organisation feeds choose the same).
    assert await names(audience_group="jeugdconsulent") == set(specs) - {"theme"}  # that one is for wmo-consulenten
    assert await names(audience_group="wmo-consulent") == set(specs) - {"group"}
    # Den Haag (GM0518) lies in Zuid-Holland (PV28) and is a member of Regio Haaglanden.
    assert await names(audience_organisation="GM0518") == {"province", "region", "theme", "group"}
    # The NLGov spelling (lowerCamelCase) is the documented one; the v1 spellings above still work (deprecated).
    assert await names(audienceGroup="jeugdconsulent") == set(specs) - {"theme"}
    assert await names(audienceOrganisation="GM0518") == {"province", "region", "theme", "group"}
    both = await names(audienceGroup="jeugdconsulent", audience_group="wmo-consulent")
    assert both == set(specs) - {"theme"}, "both spellings given: the new one wins"
    wrong = await client.get("/api/v1/meetings", params={"audience_group": "Geen Slug"})
    assert wrong.status_code == 422
    assert [e["field"] for e in wrong.json()["errors"]] == ["audienceGroup"], "named as the document spells it"
    assert await names(organisation="VNG") == set(specs)
    assert await names(status="draft") == set()
    past = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    assert await names(**{"from": past}) == set()


async def test_ended_derives_from_time(client: Client, vng: dict[str, str], conn: Connection):
    m = await create(client, vng)
    await client.post(f"/api/v1/meetings/{m['id']}/publish", headers=vng)
    await conn.execute(
        "UPDATE meetings SET starts_at = now() - interval '2 hours', ends_at = now() - interval '1 hour'"
    )
    got = (await client.get(f"/api/v1/meetings/{m['id']}")).json()
    assert got["status"] == "ended"
    assert (await client.post(f"/api/v1/meetings/{m['id']}/cancel", headers=vng)).status_code == 409
    ended = (await client.get("/api/v1/meetings", params={"status": "ended"})).json()["items"]
    assert [x["id"] for x in ended] == [m["id"]]


async def test_unknown_audience_group_is_named_not_read_as_everyone(
    client: Client, vng: dict[str, str], admin: dict[str, str]
):
    for_everyone = await create(client, vng, audience={"groups": [], "organisations": [], "regions": []})
    await client.post(f"/api/v1/meetings/{for_everyone['id']}/publish", headers=vng)
    for spelling in ("audienceGroup", "audience_group"):
        wrong = await client.get("/api/v1/meetings", params={spelling: "jeugdconsulnet"})
        assert wrong.status_code == 422, wrong.text
        assert wrong.headers["content-type"].startswith("application/problem+json")
        problem = wrong.json()
        assert [e["field"] for e in problem["errors"]] == ["audienceGroup"]
        assert "jeugdconsulnet" in problem["detail"]
        assert "Onbekende beroepsgroep" in problem["detail"]
    # A group no longer offered still filters: older meetings may carry it.
    retired = await client.put(
        "/api/v1/professional-groups",
        json={"slug": "oud-beroep", "name": "Oud beroep", "active": False},
        headers=admin,
    )
    assert retired.status_code in (200, 201), retired.text
    kept = await client.get("/api/v1/meetings", params={"audienceGroup": "oud-beroep"})
    assert kept.status_code == 200, kept.text
    assert [m["id"] for m in kept.json()["items"]] == [for_everyone["id"]]
    # The web agenda says it at the field and still shows the agenda (a stale bookmark is not an error page).
    page = await client.get("/agenda", params={"groep": "jeugdconsulnet"})
    assert page.status_code == 200
    assert "Kies een waarde uit de lijst" in page.text
    assert for_everyone["title"] in page.text


async def test_unknown_audience_organisation_is_named_not_read_as_everyone(client: Client, vng: dict[str, str]):
    for_everyone = await create(client, vng, audience={"groups": [], "organisations": [], "regions": []})
    await client.post(f"/api/v1/meetings/{for_everyone['id']}/publish", headers=vng)
    for spelling in ("audienceOrganisation", "audience_organisation"):
        wrong = await client.get("/api/v1/meetings", params={spelling: "GM9999"})
        assert wrong.status_code == 422, wrong.text
        assert wrong.headers["content-type"].startswith("application/problem+json")
        problem = wrong.json()
        assert [e["field"] for e in problem["errors"]] == ["audienceOrganisation"]
        assert "GM9999" in problem["detail"]
        assert "Onbekende organisatie" in problem["detail"]
    # An organisation (in any case), a province and a safety region are all known codes.
    for code in ("GM0518", "gm0518", "PV28", "VR15"):
        known = await client.get("/api/v1/meetings", params={"audienceOrganisation": code})
        assert known.status_code == 200, (code, known.text)
        assert [m["id"] for m in known.json()["items"]] == [for_everyone["id"]]
    # The web agenda says it at the field and still shows the agenda.
    page = await client.get("/agenda", params={"voor": "GM9999"})
    assert page.status_code == 200
    assert "Kies een waarde uit de lijst" in page.text
    assert for_everyone["title"] in page.text
