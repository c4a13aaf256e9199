"""API shortcuts shared by the integration tests: publish a meeting, register someone, read the outbox."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient

from services.db import Connection
from services.participants import tokens
from tests.factories import meeting_body, participant_body

Client = AsyncTestClient  # type: ignore[type-arg]


async def published(client: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/meetings", json=meeting_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    meeting = response.json()
    response = await client.post(f"/api/v1/meetings/{meeting['id']}/publish", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def register(client: Client, meeting_id: str, n: int, **headers: str) -> Any:
    return await client.post(
        f"/api/v1/meetings/{meeting_id}/registrations", json={"participant": participant_body(n)}, headers=headers
    )


async def token_for(conn: Connection, participant_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await tokens.issue(conn, UUID(participant_id), 'manage')}"}


async def events(conn: Connection, *types: str) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT type, payload FROM outbox WHERE type = ANY($1) ORDER BY id", list(types))
    return [{"type": r["type"], **r["payload"]} for r in rows]


async def statuses(conn: Connection, meeting_id: str) -> list[tuple[str, str, int | None]]:
    rows = await conn.fetch(
        "SELECT p.email, r.status, r.position FROM registrations r JOIN participants p ON p.id = r.participant_id "
        "WHERE r.meeting_id = $1 ORDER BY r.n",
        UUID(meeting_id),
    )
    return [(r["email"].split("@")[0], r["status"], r["position"]) for r in rows]
