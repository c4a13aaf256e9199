"""API shortcuts shared by the integration tests: publish a meeting, register someone, read the outbox."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from litestar.testing import AsyncTestClient

from services.db import Connection
from services.participants import tokens
from services.participants.links import confirm_token
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
    """Register participant `n`. With headers (a key or token) in one request; without, the way an anonymous person
    does it: the request (202), then the link from the confirmation mail (see `confirm`)."""
    response = await client.post(
        f"/api/v1/meetings/{meeting_id}/registrations", json={"participant": participant_body(n)}, headers=headers
    )
    if headers or response.status_code != 202:
        return response
    return await confirm(client, meeting_id, participant_body(n)["email"])


async def confirm(client: Client, meeting_id: str, email: str) -> Any:
    """Confirm the open registration request of `email` as its mailed link would: the token is derived exactly as
    the mail job derives it (tests that follow the real mail are in test_participant_journey.py)."""
    settings = client.app.state.settings
    # The app's pool lives on the app's event loop; a connection of our own reads the request.
    conn = await asyncpg.connect(settings.database_url)
    try:
        request_id = await conn.fetchval(
            "SELECT r.id FROM registration_requests r JOIN participants p ON p.id = r.participant_id "
            "WHERE p.email = $1 AND r.meeting_id = $2 AND r.confirmed_at IS NULL",
            email.lower(),
            UUID(meeting_id),
        )
    finally:
        await conn.close()
    assert request_id is not None, f"no open registration request for {email}"
    token = confirm_token(settings, request_id)
    return await client.post("/api/v1/registration-requests/confirm", json={"token": token})


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
