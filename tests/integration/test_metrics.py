"""/metrics after real actions: requests, feeds, registrations, the outbox, the queue, scheduled work, and the
worker's own port with its jobs and mails. Real PostgreSQL, Redis, SMTP sink and workers; the figures are read
back in Prometheus' text format, before and after, and must move by what was done."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import msgspec
import pytest
from arq.connections import RedisSettings, create_pool
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from localdev.mailsink import MailSink
from schemas.events import MeetingPublished
from services.app import create_app
from services.db import Connection
from services.db import create_pool as create_db_pool
from services.outbox import emit
from services.settings import Settings
from tests.api import published
from tests.factories import meeting_body, participant_body
from tests.integration.invitation_helpers import mails
from tests.servers import api_process, free_port, leerkring_env
from workers.relay import Relay
from workers.testing import FAST, running_workers, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]
REGISTER = "/api/v1/meetings/{meeting_id}/registrations"


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 when there are none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def scrape(client: Client) -> str:
    answer = await client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


@pytest.fixture
async def app_client(mail_settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(mail_settings)) as client:
        yield client


async def test_requests_feeds_and_registrations_move_their_counters(app_client: Client, vng: dict[str, str]) -> None:
    client = app_client
    meeting = await published(client, vng, capacity=1)
    before = await scrape(client)
    url = f"/api/v1/meetings/{meeting['id']}/registrations"
    first = await client.post(url, json={"participant": participant_body(1)}, headers=vng)
    second = await client.post(url, json={"participant": participant_body(2)}, headers=vng)
    again = await client.post(url, json={"participant": participant_body(1)}, headers=vng)
    anonymous = await client.post(url, json={"participant": participant_body(3)})
    draft = (await client.post("/api/v1/meetings", json=meeting_body(), headers=vng)).json()
    refused = await client.post(
        f"/api/v1/meetings/{draft['id']}/registrations", json={"participant": participant_body(4)}, headers=vng
    )
    assert [r.status_code for r in (first, second, again, anonymous, refused)] == [201, 201, 200, 202, 409]
    assert (first.json()["status"], second.json()["status"]) == ("confirmed", "waitlisted")
    feed = await client.get("/feeds/public.ics")
    assert feed.status_code == 200
    unchanged = await client.get("/feeds/public.ics", headers={"If-None-Match": feed.headers["etag"]})
    assert unchanged.status_code == 304
    missing = await client.get(f"/feeds/p/lkp_{'x' * 30}.ics")
    assert missing.status_code == 404
    assert (await client.get("/nergens")).status_code == 404
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, f"{name}_total", **labels) - value(before, f"{name}_total", **labels)

    assert moved("leerkring_http_requests", method="POST", route=REGISTER, status="201") == 2
    assert moved("leerkring_http_requests", method="POST", route=REGISTER, status="200") == 1
    assert moved("leerkring_http_requests", method="POST", route=REGISTER, status="202") == 1
    assert moved("leerkring_http_requests", method="POST", route=REGISTER, status="409") == 1
    assert moved("leerkring_http_requests", method="GET", route="unmatched", status="404") == 1
    duration = "leerkring_http_request_duration_seconds_count"
    assert (
        value(after, duration, method="POST", route=REGISTER) - value(before, duration, method="POST", route=REGISTER)
        == 5
    )
    assert moved("leerkring_feed_requests", feed="public", status="200") == 1
    assert moved("leerkring_feed_requests", feed="public", status="304") == 1
    assert moved("leerkring_feed_requests", feed="personal", status="404") == 1
    assert moved("leerkring_registrations", outcome="confirmed") == 1
    assert moved("leerkring_registrations", outcome="waitlisted") == 1
    assert moved("leerkring_registrations", outcome="existing") == 1
    assert moved("leerkring_registrations", outcome="requested") == 1
    assert moved("leerkring_registrations", outcome="refused") == 1
    assert "lkp_" not in after, "a token in a path never becomes a label"
    assert value(after, "leerkring_backbone_up", part="database") == 1
    assert value(after, "leerkring_backbone_up", part="redis") == 1


async def test_outbox_lag_queue_depth_and_jobs_pending_follow_the_relay(
    app_client: Client, worker_settings: Settings, conn: Connection
) -> None:
    aggregate = uuid4()
    async with conn.transaction():
        for _ in range(3):
            await emit(conn, aggregate, MeetingPublished(meeting_id=aggregate, sequence=0, revision=1))
    await conn.execute("UPDATE outbox SET occurred_at = now() - interval '90 seconds'")
    waiting = await scrape(app_client)
    assert value(waiting, "leerkring_outbox_unpublished") == 3
    assert value(waiting, "leerkring_outbox_lag_seconds") >= 90
    assert value(waiting, "leerkring_queue_depth") == 0

    # The relay alone: the events become jobs in Redis, and nobody runs them.
    pool = await create_db_pool(worker_settings.database_url or "", min_size=1, max_size=2)
    redis = await create_pool(RedisSettings.from_dsn(worker_settings.redis_url or ""))
    try:
        assert await Relay(pool, redis, FAST).publish_batch() == 3
        jobs = await conn.fetchval("SELECT count(*) FROM event_jobs WHERE status = 'pending'")
        assert jobs >= 3
        depth = await redis.zcard("arq:queue")
    finally:
        await redis.aclose()
        await pool.close()
    relayed = await scrape(app_client)
    assert value(relayed, "leerkring_outbox_unpublished") == 0
    assert value(relayed, "leerkring_outbox_lag_seconds") == 0
    assert value(relayed, "leerkring_jobs_pending") == jobs
    assert depth == jobs
    assert value(relayed, "leerkring_queue_depth") == depth


async def test_scheduled_work_due_and_late(app_client: Client, conn: Connection) -> None:
    now = datetime.now(UTC)
    for due in (now - timedelta(seconds=30), now - timedelta(minutes=20), now + timedelta(hours=1)):
        await conn.execute(
            "INSERT INTO scheduled_tasks (kind, aggregate_id, due_at) VALUES ('metrics_test', $1, $2)", uuid4(), due
        )
    text = await scrape(app_client)
    assert value(text, "leerkring_scheduled_due", kind="metrics_test") == 2
    assert value(text, "leerkring_scheduled_late", kind="metrics_test") == 1
    assert value(text, "leerkring_scheduled_oldest_due_seconds", kind="metrics_test") >= 20 * 60


async def test_the_worker_port_counts_jobs_and_mails(
    app_client: Client, vng: dict[str, str], mail_settings: Settings, mail_sink: MailSink
) -> None:
    port = free_port()
    tuning = msgspec.structs.replace(FAST, metrics_port=port)
    meeting = await published(app_client, vng)
    async with (
        running_workers(mail_settings, tuning=tuning),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as w,
    ):
        healthy = await w.get("/healthz")
        assert healthy.status_code == 200, healthy.text
        assert healthy.json()["status"] == "ok"
        before = (await w.get("/metrics")).text
        url = f"/api/v1/meetings/{meeting['id']}/registrations"
        asked = await app_client.post(url, json={"participant": participant_body(7)})
        assert asked.status_code == 202
        await mails(mail_sink, 1)

        async def counted() -> bool:
            text = (await w.get("/metrics")).text
            return value(text, "leerkring_mails_total", outcome="sent") > value(
                before, "leerkring_mails_total", outcome="sent"
            )

        await wait_until(counted, within=10)
        after = (await w.get("/metrics")).text
        assert (await w.get("/elders")).status_code == 404
    done = value(after, "leerkring_jobs_total", outcome="done") - value(before, "leerkring_jobs_total", outcome="done")
    assert done >= 1
    assert value(after, "leerkring_outbox_published_events_total") > value(
        before, "leerkring_outbox_published_events_total"
    )
    assert value(after, "leerkring_smtp_down") == 0
    assert value(after, "leerkring_worker_maintenance_age_seconds") < 30
    with pytest.raises(httpx.TransportError):
        async with httpx.AsyncClient() as gone:
            await gone.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


async def test_a_metrics_token_keeps_scrapers_without_it_out(settings: Settings) -> None:
    locked = msgspec.structs.replace(settings, metrics_token="geheim-voor-prometheus")
    async with AsyncTestClient(app=create_app(locked)) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer iets-anders"})
        assert wrong.status_code == 401
        right = await client.get("/metrics", headers={"Authorization": "Bearer geheim-voor-prometheus"})
        assert right.status_code == 200
        assert "leerkring_http_requests_total" in right.text


async def test_every_server_process_of_one_api_answers_for_all(settings: Settings, tmp_path: Path) -> None:
    """`leerkring api --workers 2`: the kernel hands each connection to either process, so a scrape may reach
    either; in multiprocess mode each answers the figures of both, and the log lines are JSON."""
    env = leerkring_env(
        database_url=settings.database_url or "",
        redis_url=settings.redis_url or "",
        var_dir=str(tmp_path),
        secret_key="x" * 40,
        log_format="json",
    )
    async with api_process(env, "--workers", "2", log=tmp_path / "api.log") as base:
        for _ in range(20):
            # A new connection each time, so both processes get some.
            async with httpx.AsyncClient(base_url=base) as one:
                assert (await one.get("/nergens")).status_code == 404
        seen = set()
        for _ in range(6):
            async with httpx.AsyncClient(base_url=base) as one:
                text = (await one.get("/metrics")).text
            seen.add(value(text, "leerkring_http_requests_total", route="unmatched", status="404"))
    assert seen == {20.0}
    assert (tmp_path / "metrics").is_dir()
    lines = [line for line in (tmp_path / "api.log").read_text().splitlines() if line.startswith("{")]
    assert lines, "the server processes log JSON"
    assert all(json.loads(line)["level"] for line in lines)
