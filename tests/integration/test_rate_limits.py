"""Rate limits on the anonymous doors: mail-sending requests and check-in codes, shared through Redis."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import httpx
import msgspec
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from services import ratelimit
from services.app import create_app
from services.db import Connection
from services.participants import tokens
from services.settings import Settings
from tests.api import published
from tests.factories import participant_body
from tests.integration.test_attendance import on_behalf, running

Client = AsyncTestClient  # type: ignore[type-arg]


def assert_limited(response: httpx.Response, *, problem: bool = True) -> None:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= ratelimit.MAIL.per_seconds
    if problem:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "Probeer het later opnieuw" in response.json()["detail"]


async def test_anonymous_mail_requests_stop_at_the_limit_on_the_api_and_the_pages(client: Client, vng: dict[str, str]):
    meeting = await published(client, vng)
    url = f"/api/v1/meetings/{meeting['id']}/registrations"
    for n in range(ratelimit.MAIL.requests):
        answer = await client.post(url, json={"participant": participant_body(n)})
        assert answer.status_code == 202, (n, answer.text)
    assert_limited(await client.post(url, json={"participant": participant_body(999)}))
    assert_limited(await client.post("/api/v1/participants", json=participant_body(998)))
    page = await client.post("/inloggen", data={"email": "iemand@gemeente.nl"})
    assert_limited(page, problem=False)
    assert "text/html" in page.headers["content-type"]
    assert "te veel aanvragen" in page.text
    staff = await client.post(url, json={"participant": participant_body(997)}, headers=vng)
    assert staff.status_code == 201, "an organiser's key is no anonymous door"


async def test_the_limits_are_shared_by_every_api_process(client: Client, settings: Settings, vng: dict[str, str]):
    meeting = await published(client, vng)
    url = f"/api/v1/meetings/{meeting['id']}/registrations"
    async with AsyncTestClient(app=create_app(settings)) as other:
        for n in range(ratelimit.MAIL.requests):
            replica = client if n % 2 else other
            assert (await replica.post(url, json={"participant": participant_body(n)})).status_code == 202
        assert_limited(await other.post(url, json={"participant": participant_body(999)}))


async def test_check_in_codes_cannot_be_guessed_at_speed(
    client: Client, vng: dict[str, str], conn: Connection, settings: Settings
):
    meeting = await running(client, vng, started=timedelta(minutes=5))
    mid = meeting["id"]
    reg = await on_behalf(client, vng, mid, 1)
    me = {"Authorization": f"Bearer {await tokens.issue(conn, UUID(reg['participant_id']), 'manage')}"}
    code = (await client.get(f"/api/v1/meetings/{mid}/checkin", headers=vng)).json()["code"]
    wrong = "AAAAAA" if code != "AAAAAA" else "CCCCCC"
    url = f"/api/v1/meetings/{mid}/attendance/self"
    for _ in range(ratelimit.CHECKIN_CLIENT.requests):
        assert (await client.post(url, json={"code": wrong}, headers=me)).status_code == 422
    limited = await client.post(url, json={"code": code}, headers=me)
    assert limited.status_code == 429, "past the limit even the right code waits: a guess cannot be confirmed"
    assert "Retry-After" in limited.headers


async def test_wrong_codes_from_many_addresses_close_the_meeting_for_a_while(
    client: Client, vng: dict[str, str], conn: Connection, settings: Settings
):
    meeting = await running(client, vng, started=timedelta(minutes=5))
    mid = meeting["id"]
    reg = await on_behalf(client, vng, mid, 1)
    me = {"Authorization": f"Bearer {await tokens.issue(conn, UUID(reg['participant_id']), 'manage')}"}
    code = (await client.get(f"/api/v1/meetings/{mid}/checkin", headers=vng)).json()["code"]
    # Wrong codes counted the way the endpoint counts them, as if from a hundred other addresses.
    redis = Redis.from_url(settings.redis_url or "")
    try:
        for _ in range(ratelimit.CHECKIN_MEETING.requests):
            await ratelimit.hit(settings, redis, ratelimit.CHECKIN_MEETING, mid)
    finally:
        await redis.aclose()
    closed = await client.post(f"/api/v1/meetings/{mid}/attendance/self", json={"code": code}, headers=me)
    assert closed.status_code == 429, closed.text
    assert "foute incheckcodes" in closed.json()["detail"]
    unlimited = msgspec.structs.replace(settings, rate_limit_scale=0)
    async with AsyncTestClient(app=create_app(unlimited)) as relaxed:
        answer = await relaxed.post(f"/api/v1/meetings/{mid}/attendance/self", json={"code": code}, headers=me)
    assert answer.status_code == 200, "LEERKRING_RATE_LIMIT_SCALE=0 turns the limits off"


async def test_guessing_invitation_links_is_stopped_and_real_links_still_count_for_nothing(
    client: Client, settings: Settings, vng: dict[str, str]
):
    from services.invitations import links as invitation_links

    meeting = await published(client, vng)
    real = invitation_links.make(
        settings.secret_key, "register", UUID(meeting["id"]), "iemand@gemeente.example.nl", locale="nl",
        until=datetime.fromisoformat(meeting["starts_at"]),
    )  # fmt: skip
    for _ in range(3):  # opening your own link often is no guessing
        assert (await client.get(f"/uitnodiging/aanmelden/{real}")).status_code == 200
    for n in range(ratelimit.BAD_LINK.requests):
        wrong = await client.get(f"/uitnodiging/aanmelden/geraden-{n}")
        assert wrong.status_code == 404, (n, wrong.text)
    refused = await client.get("/uitnodiging/afmelden/nog-een")
    assert_limited(refused, problem=False)
    assert "text/html" in refused.headers["content-type"]
    assert (await client.get(f"/uitnodiging/aanmelden/{real}")).status_code == 429, "blocked for the window"


async def test_unknown_personal_feed_tokens_are_limited_but_known_ones_keep_working(
    client: Client, conn: Connection, vng: dict[str, str]
):
    person = UUID((await client.post("/api/v1/participants", json=participant_body(1), headers=vng)).json()["id"])
    feed = await tokens.issue(conn, person, "feed")
    for n in range(ratelimit.BAD_FEED.requests):
        unknown = await client.get(f"/feeds/p/lkp_{'x' * 30}{n:04d}.ics")
        assert unknown.status_code == 404, n
    assert_limited(await client.get(f"/feeds/p/lkp_{'y' * 34}.ics"))
    assert (await client.get(f"/feeds/p/{feed}.ics")).status_code == 200, "a polling calendar is not held up"
