"""Per-organiser mail quotas (issue 11): an organising body cannot mail more invitations in 24 hours than its quota
(LEERKRING_MAIL_QUOTA_PER_DAY, or what an admin set for it); the refusal is a clear 429 problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from services.app import create_app
from services.db import Connection
from services.settings import Settings
from tests.conftest import Keys
from tests.integration.invitation_helpers import add_participants, published_meeting

Client = AsyncTestClient  # type: ignore[type-arg]


@pytest.fixture
async def small(settings: Settings) -> AsyncIterator[Client]:
    """The API with a quota of three invitations a day per body."""
    async with AsyncTestClient(app=create_app(msgspec.structs.replace(settings, mail_quota_per_day=3))) as client:
        yield client


def pasted(*names: str) -> dict[str, list[str]]:
    return {"emails": [f"{n}@gemeente.example.nl" for n in names]}


async def test_a_body_cannot_mail_past_its_quota_until_an_admin_raises_it(
    small: Client, vng: dict[str, str], admin: dict[str, str], keys: Keys, conn: Connection
) -> None:
    meeting = await published_meeting(small, vng)
    url = f"/api/v1/meetings/{meeting['id']}/invitations"
    assert (await small.post(url, json=pasted("a", "b"), headers=vng)).status_code == 202
    quota = await small.get("/api/v1/organisations/VNG/mail-quota", headers=vng)
    assert quota.status_code == 200, quota.text
    assert quota.json() == {"organisation_code": "VNG", "daily_limit": 3, "used": 2, "remaining": 1, "custom": False}

    refused = await small.post(url, json=pasted("c", "d"), headers=vng)
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) > 0
    problem = refused.json()
    assert problem["title"] == "Mailquotum bereikt"
    assert "nog 1 over" in problem["detail"]
    assert "2 adressen" in problem["detail"]
    assert "beheerder" in problem["detail"]
    assert await conn.fetchval("SELECT count(*) FROM invitation_batches") == 1, "nothing half-written"

    # By criteria the audience is counted before anything is recorded: five people with consent are too many.
    await add_participants(conn, 5)
    assert (await small.post(url, json={"groups": ["wmo-consulent"]}, headers=vng)).status_code == 429

    # Only an admin changes a quota; an organiser may read only its own.
    quota_url = "/api/v1/organisations/VNG/mail-quota"
    assert (await small.put(quota_url, json={"daily_limit": 9}, headers=vng)).status_code == 403
    other = await keys.headers("organiser", "AOF")
    assert (await small.get("/api/v1/organisations/VNG/mail-quota", headers=other)).status_code == 403
    bad = await small.put("/api/v1/organisations/VNG/mail-quota", json={"daily_limit": -1}, headers=admin)
    assert bad.status_code == 422
    raised = await small.put("/api/v1/organisations/VNG/mail-quota", json={"daily_limit": 10}, headers=admin)
    assert raised.status_code == 200, raised.text
    assert (raised.json()["daily_limit"], raised.json()["remaining"], raised.json()["custom"]) == (10, 8, True)
    assert (await small.post(url, json={"groups": ["wmo-consulent"]}, headers=vng)).status_code == 202
    assert (await small.get("/api/v1/organisations/VNG/mail-quota", headers=vng)).json()["used"] == 7
    unknown = await small.put("/api/v1/organisations/NOPE/mail-quota", json={"daily_limit": 1}, headers=admin)
    assert unknown.status_code == 404
