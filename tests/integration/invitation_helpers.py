"""Shared set-up for the invitation tests: published meetings, participants in bulk, mail settings."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient

from localdev.mailsink import MailSink, ReceivedMail
from services.db import Connection
from tests.factories import meeting_body

Client = AsyncTestClient  # type: ignore[type-arg]


async def published_meeting(client: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    created = await client.post("/api/v1/meetings", json=meeting_body(**overrides), headers=headers)
    assert created.status_code == 201, created.text
    mid = created.json()["id"]
    published = await client.post(f"/api/v1/meetings/{mid}/publish", headers=headers)
    assert published.status_code == 200, published.text
    return published.json()  # type: ignore[no-any-return]


async def add_participants(
    conn: Connection,
    count: int,
    *,
    prefix: str = "p",
    group: str | None = "wmo-consulent",
    organisation: str | None = "GM0518",
    locale: str = "nl",
) -> list[str]:
    """Insert proven participants who asked for invitations, in one statement; returns their addresses in order."""
    emails = [f"{prefix}{i:05d}@gemeente.example.nl" for i in range(count)]
    await conn.execute(
        """
        INSERT INTO participants (email, name, organisation_code, professional_group, locale, verified_at,
                                  invitation_consent)
        SELECT e, 'Deelnemer ' || split_part(e, '@', 1), $2, $3, $4, now(), true FROM unnest($1::text[]) AS e
        """,
        emails,
        organisation,
        group,
        locale,
    )
    return emails


async def invite(client: Client, headers: dict[str, str], meeting_id: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/meetings/{meeting_id}/invitations", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


async def mails(sink: MailSink, count: int, within: float = 20.0) -> list[ReceivedMail]:
    """Wait until `count` messages arrived (not more checked here; callers compare afterwards)."""
    return await asyncio.to_thread(sink.wait_for, count, within)


def by_recipient(received: list[ReceivedMail]) -> dict[str, list[ReceivedMail]]:
    out: dict[str, list[ReceivedMail]] = {}
    for item in received:
        for rcpt in item.rcpt_tos:
            out.setdefault(rcpt, []).append(item)
    return out


async def batch_done(conn: Connection, batch_id: str | UUID) -> bool:
    return bool(await conn.fetchval("SELECT state = 'done' FROM invitation_batches WHERE id = $1", UUID(str(batch_id))))


async def batches_done(conn: Connection, meeting_id: str | UUID) -> bool:
    """Every batch of the meeting finished: each invitee's mail has its outcome, so no more mail can come."""
    return bool(
        await conn.fetchval(
            "SELECT bool_and(state = 'done') FROM invitation_batches WHERE meeting_id = $1", UUID(str(meeting_id))
        )
    )
