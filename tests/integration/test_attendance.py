"""Check-in: the code and its QR image, self check-in in the window, organiser marks, walk-ins, no-shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient

from services.attendance.checkin import ALPHABET
from services.db import Connection
from services.participants import tokens
from tests.factories import meeting_body, participant_body

Client = AsyncTestClient  # type: ignore[type-arg]


async def running(client: Client, headers: dict[str, str], *, started: timedelta, **overrides: Any) -> dict[str, Any]:
    """A published meeting that started `started` ago (negative: starts in the future) and lasts three hours. One
    that has begun cannot be published: it is published a day later and then moved back."""
    start = datetime.now(UTC) - started
    times = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat()}
    later = {k: (datetime.fromisoformat(v) + timedelta(days=1)).isoformat() for k, v in times.items()}
    body = meeting_body(**(later if started > timedelta(0) else times), **overrides)
    meeting = (await client.post("/api/v1/meetings", json=body, headers=headers)).json()
    answer = await client.post(f"/api/v1/meetings/{meeting['id']}/publish", headers=headers)
    assert answer.status_code == 200, answer.text
    if started > timedelta(0):
        answer = await client.patch(f"/api/v1/meetings/{meeting['id']}", json=times, headers=headers)
        assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def on_behalf(client: Client, headers: dict[str, str], meeting_id: str, n: int) -> dict[str, Any]:
    answer = await client.post(
        f"/api/v1/meetings/{meeting_id}/registrations", json={"participant": participant_body(n)}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_checkin_code_and_qr(client: Client, vng: dict[str, str], keys: Any):
    meeting = await running(client, vng, started=-timedelta(days=1))
    info = (await client.get(f"/api/v1/meetings/{meeting['id']}/checkin", headers=vng)).json()
    assert len(info["code"]) == 6
    assert set(info["code"]) <= set(ALPHABET)
    assert info["url"] == f"https://leerkring.test/inchecken/{meeting['id']}?code={info['code']}"
    assert datetime.fromisoformat(info["opens_at"]) == datetime.fromisoformat(meeting["starts_at"]) - timedelta(
        minutes=30
    )
    again = (await client.get(f"/api/v1/meetings/{meeting['id']}/checkin", headers=vng)).json()
    assert again["code"] == info["code"], "the code is stable once made"
    svg = await client.get(f"/api/v1/meetings/{meeting['id']}/checkin-qr.svg", headers=vng)
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.content.lstrip().startswith(b"<?xml")
    assert b"<svg" in svg.content
    png = await client.get(f"/api/v1/meetings/{meeting['id']}/checkin-qr.png", headers=vng)
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert (await client.get(f"/api/v1/meetings/{meeting['id']}/checkin")).status_code == 401
    aof = await keys.headers("organiser", "AOF")
    assert (await client.get(f"/api/v1/meetings/{meeting['id']}/checkin-qr.svg", headers=aof)).status_code == 403


async def test_self_checkin_only_with_the_right_code_in_the_window(
    client: Client, vng: dict[str, str], conn: Connection
):
    meeting = await running(client, vng, started=timedelta(minutes=10))
    mid = meeting["id"]
    reg = await on_behalf(client, vng, mid, 1)
    code = (await client.get(f"/api/v1/meetings/{mid}/checkin", headers=vng)).json()["code"]
    me = {"Authorization": f"Bearer {await tokens.issue(conn, UUID(reg['participant_id']), 'manage')}"}
    url = f"/api/v1/meetings/{mid}/attendance/self"

    wrong = await client.post(url, json={"code": "AAAAAA" if code != "AAAAAA" else "CCCCCC"}, headers=me)
    assert (wrong.status_code, wrong.json()["errors"][0]["field"]) == (422, "code")
    checked = await client.post(url, json={"code": code.lower()}, headers=me)
    assert checked.status_code == 200, checked.text
    assert (checked.json()["status"], checked.json()["walk_in"], checked.json()["method"]) == (
        "attended",
        False,
        "self",
    )
    assert checked.json()["registration_id"] == reg["id"]
    twice = await client.post(url, json={"code": code}, headers=me)
    assert twice.status_code == 200
    # A walk-in with the code but without a registration or token gives their details.
    walk_in = await client.post(url, json={"code": code, "participant": participant_body(7)})
    assert walk_in.json()["walk_in"] is True
    nobody = await client.post(url, json={"code": code})
    assert (nobody.status_code, nobody.json()["errors"][0]["field"]) == (422, "participant")
    recorded = await conn.fetch("SELECT payload FROM outbox WHERE type = 'attendance.recorded' ORDER BY id")
    assert [(r["payload"]["attended"], r["payload"]["walk_in"]) for r in recorded] == [(True, False), (True, True)]

    later = await running(client, vng, started=-timedelta(hours=2))
    code = (await client.get(f"/api/v1/meetings/{later['id']}/checkin", headers=vng)).json()["code"]
    early = await client.post(f"/api/v1/meetings/{later['id']}/attendance/self", json={"code": code}, headers=me)
    assert (early.status_code, early.json()["errors"][0]["field"]) == (409, "code")
    assert "Inchecken kan alleen van" in early.json()["detail"]
    nocode = await running(client, vng, started=timedelta(minutes=1))
    guessed = await client.post(f"/api/v1/meetings/{nocode['id']}/attendance/self", json={"code": "ACDEFG"}, headers=me)
    assert guessed.status_code == 422, "a meeting whose code was never shown accepts none"


async def test_organiser_marks_in_bulk_with_walk_ins_and_releases_no_shows(
    client: Client, vng: dict[str, str], conn: Connection
):
    meeting = await running(client, vng, started=timedelta(minutes=15), capacity=3)
    mid = meeting["id"]
    regs = [await on_behalf(client, vng, mid, n) for n in range(5)]
    assert [r["status"] for r in regs] == ["confirmed"] * 3 + ["waitlisted"] * 2
    marks = {
        "records": [
            {"registration_id": regs[0]["id"], "status": "attended"},
            {"participant_id": regs[1]["participant_id"], "status": "no_show"},
            {"participant": participant_body(9), "status": "attended"},
        ]
    }
    answer = await client.post(f"/api/v1/meetings/{mid}/attendance", json=marks, headers=vng)
    assert answer.status_code == 200, answer.text
    assert [(a["status"], a["walk_in"]) for a in answer.json()] == [
        ("attended", False),
        ("no_show", False),
        ("attended", True),
    ]
    listed = (await client.get(f"/api/v1/meetings/{mid}/attendance", headers=vng)).json()["items"]
    assert len(listed) == 3
    assert listed[0]["participant"]["name"]
    # A page at a time, in name order, all of them exactly once.
    url, pages, cursor = f"/api/v1/meetings/{mid}/attendance", [], None
    while True:
        page = (
            await client.get(url, params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=vng)
        ).json()
        pages.append([a["participant"]["id"] for a in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 1]
    assert [i for p in pages for i in p] == [a["participant"]["id"] for a in listed]
    bad = await client.get(url, params={"cursor": "bm9wZQ"}, headers=vng)
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "cursor")
    ambiguous = await client.post(
        f"/api/v1/meetings/{mid}/attendance",
        json={"records": [{"registration_id": regs[0]["id"], "participant_id": regs[0]["participant_id"]}]},
        headers=vng,
    )
    assert (ambiguous.status_code, ambiguous.json()["errors"][0]["field"]) == (422, "records[0]")

    released = await client.post(f"/api/v1/meetings/{mid}/attendance/release-no-shows", headers=vng)
    assert released.status_code == 200, released.text
    assert released.json() == {"released": 2, "promoted": 2}
    rows = await conn.fetch("SELECT status, end_reason FROM registrations WHERE meeting_id = $1 ORDER BY n", UUID(mid))
    assert [(r["status"], r["end_reason"]) for r in rows] == [
        ("confirmed", None),
        ("cancelled", "no_show_released"),
        ("cancelled", "no_show_released"),
        ("confirmed", None),
        ("confirmed", None),
    ]
    no_shows = await conn.fetchval(
        "SELECT count(*) FROM attendance WHERE meeting_id = $1 AND status = 'no_show'", UUID(mid)
    )
    assert no_shows == 2
    promoted = await conn.fetch("SELECT payload FROM outbox WHERE type = 'registration.promoted'")
    assert {p["payload"]["mode"] for p in promoted} == {"auto"}


async def test_attendance_rules(client: Client, vng: dict[str, str]):
    future = await running(client, vng, started=-timedelta(days=2), waitlist_mode="offer")
    reg = await on_behalf(client, vng, future["id"], 1)
    early = await client.post(
        f"/api/v1/meetings/{future['id']}/attendance", json={"records": [{"registration_id": reg["id"]}]}, headers=vng
    )
    assert (early.status_code, early.json()["errors"][0]["field"]) == (409, "starts_at")
    release = await client.post(f"/api/v1/meetings/{future['id']}/attendance/release-no-shows", headers=vng)
    assert release.status_code == 409
    other = await running(client, vng, started=timedelta(minutes=5))
    foreign = await client.post(
        f"/api/v1/meetings/{other['id']}/attendance", json={"records": [{"registration_id": reg["id"]}]}, headers=vng
    )
    assert (foreign.status_code, foreign.json()["errors"][0]["field"]) == (422, "records[0].registration_id")
    await client.post(f"/api/v1/meetings/{other['id']}/cancel", headers=vng)
    cancelled = await client.post(
        f"/api/v1/meetings/{other['id']}/attendance/self", json={"code": "ACDEFG", "participant": participant_body(2)}
    )
    assert cancelled.status_code == 409
