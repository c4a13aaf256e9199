"""The per-process feed cache: no queries while nothing changed, every process sees a change, one rebuild per change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.app import create_app
from services.calendar import meeting_uid
from services.db import Connection
from services.feeds import personal, service
from services.participants import tokens
from services.settings import Settings
from tests.integration.test_feeds_support import (
    Client,
    events,
    fresh_cache,
    publish,
    run_feed_jobs,
    summaries,
    unfolded,
)
from workers.testing import FAST, no_pending_jobs, running_workers, wait_until


async def feed_shows(client: Client, holds: Callable[[str], bool]) -> bool:
    """The public feed as a subscriber fetches it satisfies `holds` (the cache rechecks every 0.05 s here)."""
    return holds((await client.get("/feeds/public.ics")).text)


class _NoDatabase:
    def acquire(self) -> Any:
        raise AssertionError("a cached feed must not touch PostgreSQL")


async def test_a_cached_feed_is_served_without_touching_the_database(
    client: Client, vng: dict[str, str], settings: Settings
):
    fresh_cache(client, recheck_seconds=60)
    await publish(client, vng)
    await run_feed_jobs(settings)
    first = await client.get("/feeds/public.ics")
    assert (await client.get("/feeds/themes/bestaat-niet.ics")).status_code == 404
    pool = client.app.state.pool
    client.app.state.pool = _NoDatabase()
    try:
        again = await client.get("/feeds/public.ics", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        assert (await client.get("/feeds/public.ics")).content == first.content
        assert (await client.get("/feeds/themes/bestaat-niet.ics")).status_code == 404, "misses are cached too"
    finally:
        client.app.state.pool = pool


async def test_every_api_process_sees_a_change_within_the_recheck_interval(
    client: Client, vng: dict[str, str], settings: Settings
):
    fresh_cache(client, recheck_seconds=0.3)
    meeting = await publish(client, vng, title="Oud")
    await run_feed_jobs(settings)
    async with AsyncTestClient(app=create_app(settings)) as other:
        fresh_cache(other, recheck_seconds=0.3)
        for c in (client, other):
            assert summaries((await c.get("/feeds/public.ics")).text) == ["Oud"]
        await client.patch(f"/api/v1/meetings/{meeting['id']}", json={"title": "Nieuw"}, headers=vng)
        await run_feed_jobs(settings)
        await asyncio.sleep(0.35)
        answers = [await c.get("/feeds/public.ics") for c in (client, other)]
        assert [summaries(a.text) for a in answers] == [["Nieuw"], ["Nieuw"]]
        assert answers[0].content == answers[1].content
        assert answers[0].headers["etag"] == answers[1].headers["etag"], "replicas agree on the validator"


async def test_a_burst_after_a_change_rebuilds_the_feed_once(
    client: Client, vng: dict[str, str], settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    fresh_cache(client, recheck_seconds=0)
    await publish(client, vng)
    await run_feed_jobs(settings)
    calls = 0
    real = service.q.feed_rows

    async def counting(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        return await real(*args)

    monkeypatch.setattr(service.q, "feed_rows", counting)
    answers = await asyncio.gather(*(client.get("/feeds/public.ics") for _ in range(30)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert calls == 1
    # Another meeting's change elsewhere: the theme feed is verified again, but its body is not rebuilt.
    await client.get("/feeds/themes/netwerkend-werken.ics")
    await publish(client, vng, themes=["de-bedoeling"])
    await run_feed_jobs(settings)
    before = calls
    await client.get("/feeds/themes/netwerkend-werken.ics")
    assert calls == before


async def test_renames_and_new_region_members_reach_cached_feeds(
    client: Client, vng: dict[str, str], settings: Settings, conn: Connection, admin: dict[str, str]
):
    fresh_cache(client)
    audience = {"groups": [], "organisations": ["RG-HOLLAND"], "regions": []}
    await conn.execute(
        "INSERT INTO organisations (code, name, kind, member_codes) "
        "VALUES ('RG-HOLLAND', 'Regio Holland', 'region', '{}')"
    )
    await publish(client, vng, title="Regio", audience=audience, themes=["de-bedoeling"])
    await run_feed_jobs(settings)
    assert summaries((await client.get("/feeds/organisations/GM0518.ics")).text) == []
    await conn.execute("UPDATE organisations SET member_codes = '{GM0518}' WHERE code = 'RG-HOLLAND'")
    assert summaries((await client.get("/feeds/organisations/GM0518.ics")).text) == ["Regio"]

    await conn.execute("UPDATE themes SET name = 'Bedoeling' WHERE slug = 'de-bedoeling'")
    renamed = await client.get("/feeds/themes/de-bedoeling.ics")
    assert "X-WR-CALNAME:Leerkring – thema Bedoeling" in unfolded(renamed.text)


async def test_unknown_tokens_cost_one_lookup_and_never_reach_the_feed_query(
    client: Client, monkeypatch: pytest.MonkeyPatch
):
    lookups = 0
    real = tokens.resolve_token

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal lookups
        lookups += 1
        return await real(*args, **kwargs)

    async def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no feed query for an unknown token")

    monkeypatch.setattr(tokens, "resolve_token", counting)
    monkeypatch.setattr(personal, "personal_feed", never)
    answers = await asyncio.gather(*(client.get(f"/feeds/p/lkp_{n:043d}.ics") for n in range(20)))
    answers += [await client.get("/feeds/p/geen-token.ics")]
    assert {a.status_code for a in answers} == {404}
    assert lookups == 20, "well-formed tokens: one indexed lookup each; malformed ones: none"


async def test_end_to_end_through_the_relay_and_a_real_worker(
    client: Client, vng: dict[str, str], settings: Settings, conn: Connection
):
    fresh_cache(client, recheck_seconds=0.05)
    async with running_workers(settings, tuning=FAST):
        meeting = await publish(client, vng, title="Via de worker")
        await wait_until(lambda: no_pending_jobs(conn), within=10)
        await wait_until(lambda: feed_shows(client, lambda text: meeting_uid(meeting["id"]) in events(text)))
        await client.post(f"/api/v1/meetings/{meeting['id']}/cancel", headers=vng)
        await wait_until(lambda: no_pending_jobs(conn), within=10)
        await wait_until(lambda: feed_shows(client, lambda text: summaries(text) == ["Geannuleerd: Via de worker"]))
