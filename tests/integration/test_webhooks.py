"""Webhooks end to end: subscriptions over the API, signed deliveries to a real local HTTP server, retries, 410."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from schemas.events import Event
from services.app import create_app
from services.db import Connection
from services.settings import Settings
from services.webhooks import signing
from services.webhooks.transport import webhook_transport
from tests.conftest import Keys
from tests.factories import meeting_body
from workers.routes import ROUTES, WEBHOOK_ONLY
from workers.testing import FAST, running_workers, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A minimal HTTP/1.1 server: records each request and answers with the next queued status (default 200)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: collections.deque[int] = collections.deque()
        self.always: int | None = None
        self._server: asyncio.Server | None = None
        self.url = ""

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/leerkring/webhook"
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, path, _ = (await reader.readline()).decode().split(" ", 2)
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode().strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status = self.always or (self.statuses.popleft() if self.statuses else 200)
            self.requests.append(Received(method, path, headers, body))
            answer = b'{"ontvangen": true}'
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(answer)}\r\n"
                f"Connection: close\r\n\r\n".encode()
                + answer
            )
            await writer.drain()
        finally:
            writer.close()

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.requests if r.headers.get("leerkring-event-type") == event_type]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def only_webhooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Meeting events go to the webhook fan-out alone here; other features' jobs are not under test."""
    for event_type in ("meeting.published", "meeting.updated", "meeting.cancelled", "meeting.ended"):
        monkeypatch.setitem(ROUTES, event_type, ())
        monkeypatch.setitem(WEBHOOK_ONLY, event_type, "only the webhook fan-out is under test here")


async def subscribe(client: Client, headers: dict[str, str], url: str, **extra: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/webhooks", json={"url": url, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def publish_meeting(client: Client, headers: dict[str, str], **overrides: Any) -> str:
    created = await client.post("/api/v1/meetings", json=meeting_body(**overrides), headers=headers)
    assert created.status_code == 201, created.text
    meeting_id: str = created.json()["id"]
    assert (await client.post(f"/api/v1/meetings/{meeting_id}/publish", headers=headers)).status_code == 200
    return meeting_id


async def settled(conn: Connection) -> bool:
    """Every job ran and no webhook delivery waits for a retry."""
    return bool(
        await conn.fetchval(
            "SELECT (SELECT count(*) FROM event_jobs WHERE status = 'pending')"
            " + (SELECT count(*) FROM outbox WHERE published_at IS NULL)"
            " + (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') = 0"
        )
    )


async def test_subscribe_list_get_delete(
    client: Client, vng: dict[str, str], admin: dict[str, str], bzk: dict[str, str]
):
    created = await subscribe(
        client, vng, "https://hooks.example.org/leerkring", event_types=["meeting.published"], description="Intranet"
    )
    assert created["secret"].startswith("whsec_")
    hook = created["webhook"]
    assert hook["organisation_code"] == "VNG"
    assert hook["active"] is True
    assert hook["event_types"] == ["meeting.published"]
    assert "secret" not in hook
    listed = await client.get("/api/v1/webhooks", headers=vng)
    assert [h["id"] for h in listed.json()["items"]] == [hook["id"]]
    assert "secret" not in str(listed.json()), "the secret is shown once, at creation"
    admins = await subscribe(client, admin, "https://hooks.example.org/alles")
    assert admins["webhook"]["organisation_code"] is None
    assert len((await client.get("/api/v1/webhooks", headers=admin)).json()["items"]) == 2
    assert (await client.get(f"/api/v1/webhooks/{admins['webhook']['id']}", headers=vng)).status_code == 404
    assert (await client.get("/api/v1/webhooks", headers=bzk)).status_code == 403
    assert (await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=vng)).status_code == 204
    assert (await client.get(f"/api/v1/webhooks/{hook['id']}", headers=vng)).status_code == 404


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.org/x", "http"),
        ("https://gebruiker:geheim@hooks.example.org/x", "wachtwoord"),
        ("https://hooks.example.org/x#deel", "fragment"),
        ("https://hooks.example.org:99999/x", "poort"),
    ],
)
async def test_bad_urls_are_refused(client: Client, vng: dict[str, str], url: str, message: str):
    response = await client.post("/api/v1/webhooks", json={"url": url}, headers=vng)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "url"
    assert message in response.json()["detail"]


async def test_unknown_event_types_are_refused(client: Client, vng: dict[str, str]):
    response = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.org/x", "event_types": ["meeting.exploded"]},
        headers=vng,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "event_types"


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org/x",  # production wants https
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://10.1.2.3/x",
        "https://intranet.local/x",
    ],
)
async def test_production_refuses_internal_destinations(settings: Settings, vng: dict[str, str], url: str):
    production = msgspec.structs.replace(settings, environment="production")
    async with AsyncTestClient(app=create_app(production)) as client:
        response = await client.post("/api/v1/webhooks", json={"url": url}, headers=vng)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "url"


async def test_deliveries_are_signed_and_every_attempt_is_logged(
    client: Client,
    vng: dict[str, str],
    conn: Connection,
    worker_settings: Settings,
    receiver: Receiver,
    only_webhooks: None,
):
    created = await subscribe(client, vng, receiver.url)
    receiver.statuses.extend([500, 503])  # down twice, then fine
    async with running_workers(worker_settings):
        meeting_id = await publish_meeting(client, vng)
        await wait_until(lambda: settled(conn), within=10)
    assert len(receiver.requests) == 3
    bodies = {r.body for r in receiver.requests}
    assert len(bodies) == 1, "every attempt carries the same event"
    for request in receiver.requests:
        assert request.method == "POST"
        assert request.path == "/leerkring/webhook"
        assert request.headers["content-type"] == "application/json"
        assert signing.verify(created["secret"], request.body, request.headers["leerkring-signature"])
        assert not signing.verify("whsec_verkeerd", request.body, request.headers["leerkring-signature"])
    event = msgspec.json.decode(receiver.requests[0].body, type=Event)
    assert str(event.aggregate_id) == meeting_id
    assert event.type == "meeting.published"
    assert receiver.requests[0].headers["leerkring-event-id"] == str(event.id)

    attempts = (await client.get(f"/api/v1/webhooks/{created['webhook']['id']}/attempts", headers=vng)).json()
    assert [(a["attempt"], a["status_code"]) for a in attempts["items"]] == [(3, 200), (2, 503), (1, 500)]
    assert attempts["items"][0]["response_body"] == '{"ontvangen": true}'
    assert all(a["event_id"] == str(event.id) for a in attempts["items"])
    status = await conn.fetchval("SELECT status FROM webhook_deliveries")
    assert status == "succeeded"


async def test_410_gone_disables_the_subscription(
    client: Client,
    vng: dict[str, str],
    conn: Connection,
    worker_settings: Settings,
    receiver: Receiver,
    only_webhooks: None,
):
    created = await subscribe(client, vng, receiver.url)
    receiver.always = 410
    async with running_workers(worker_settings):
        await publish_meeting(client, vng)
        await wait_until(lambda: settled(conn), within=10)
        await publish_meeting(client, vng)
        await wait_until(lambda: settled(conn), within=10)
    assert len(receiver.requests) == 1, "nothing more after 410"
    hook = (await client.get(f"/api/v1/webhooks/{created['webhook']['id']}", headers=vng)).json()
    assert hook["active"] is False
    assert "410" in hook["disabled_reason"]


async def test_type_filter_and_organisation_scope(
    client: Client,
    vng: dict[str, str],
    admin: dict[str, str],
    conn: Connection,
    worker_settings: Settings,
    receiver: Receiver,
    only_webhooks: None,
):
    everything = Receiver()
    await everything.start()
    try:
        await subscribe(client, vng, receiver.url, event_types=["meeting.cancelled"])
        await subscribe(client, admin, everything.url)
        async with running_workers(worker_settings):
            ours = await publish_meeting(client, vng)
            await publish_meeting(client, admin, organiser_codes=["AOF"])
            assert (await client.post(f"/api/v1/meetings/{ours}/cancel", headers=vng)).status_code == 200
            await wait_until(lambda: settled(conn), within=10)
    finally:
        await everything.stop()
    assert [r.headers["leerkring-event-type"] for r in receiver.requests] == ["meeting.cancelled"]
    assert msgspec.json.decode(receiver.requests[0].body)["aggregate_id"] == ours
    assert sorted(r.headers["leerkring-event-type"] for r in everything.requests) == [
        "meeting.cancelled",
        "meeting.published",
        "meeting.published",
    ]


async def test_retries_stop_after_the_retry_window(
    client: Client,
    vng: dict[str, str],
    conn: Connection,
    worker_settings: Settings,
    receiver: Receiver,
    only_webhooks: None,
):
    await subscribe(client, vng, receiver.url)
    receiver.always = 500
    short_window = msgspec.structs.replace(FAST, webhook_give_up_after=0.4)
    async with running_workers(worker_settings, tuning=short_window):
        await publish_meeting(client, vng)
        await wait_until(lambda: settled(conn), within=10)
    assert await conn.fetchval("SELECT status FROM webhook_deliveries") == "failed"
    assert 2 <= len(receiver.requests) <= 10


async def test_without_the_explicit_setting_no_environment_lets_webhooks_reach_this_machine(
    settings: Settings, vng: dict[str, str], receiver: Receiver
):
    development = msgspec.structs.replace(settings, webhook_allow_private=False)
    assert development.environment == "development"
    async with AsyncTestClient(app=create_app(development)) as client:
        response = await client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=vng)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "url"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
async def test_the_delivery_transport_refuses_an_internal_address_at_connect_time(receiver: Receiver, host: str):
    # A subscription checked while its name pointed elsewhere: the transport checks the address it connects to.
    port = receiver.url.split(":")[2].split("/")[0]
    limits = httpx.Limits(max_connections=2)
    async with httpx.AsyncClient(transport=webhook_transport(limits, allow_private=False)) as checked:
        with pytest.raises(httpx.ConnectError, match="niet toegestaan"):
            await checked.post(f"http://{host}:{port}/leerkring/webhook", content=b"{}")
    async with httpx.AsyncClient(transport=webhook_transport(limits, allow_private=True)) as local:
        assert (await local.post(receiver.url, content=b"{}")).status_code == 200
    assert len(receiver.requests) == 1, "only the allowed client's request arrived"


async def test_a_rotated_secret_and_the_old_one_both_verify_until_the_grace_period_ends(
    client: Client,
    vng: dict[str, str],
    keys: Keys,
    conn: Connection,
    worker_settings: Settings,
    receiver: Receiver,
    only_webhooks: None,
):
    created = await subscribe(client, vng, receiver.url)
    url = f"/api/v1/webhooks/{created['webhook']['id']}/secret"
    other = await keys.headers("organiser", "AOF")
    assert (await client.post(url, json={"grace_hours": 24}, headers=other)).status_code == 404
    assert (await client.post(url, json={"grace_hours": 999}, headers=vng)).status_code == 422
    rotated = await client.post(url, json={"grace_hours": 24}, headers=vng)
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_")
    assert new != created["secret"]
    assert rotated.json()["webhook"]["grace_until"] is not None
    async with running_workers(worker_settings):
        await publish_meeting(client, vng)
        await wait_until(lambda: settled(conn), within=10)
    (during,) = receiver.requests
    header = during.headers["leerkring-signature"]
    assert signing.verify(new, during.body, header), "receivers that switched already"
    assert signing.verify(created["secret"], during.body, header), "receivers that have not switched yet"
    assert not signing.verify("whsec_verkeerd", during.body, header)

    # The grace period over: only the new secret signs.
    await conn.execute("UPDATE webhook_subscriptions SET previous_secret_until = now() - interval '1 second'")
    async with running_workers(worker_settings):
        await publish_meeting(client, vng, title="Na de overgang")
        await wait_until(lambda: settled(conn), within=10)
    after = receiver.requests[-1]
    assert signing.verify(new, after.body, after.headers["leerkring-signature"])
    assert not signing.verify(created["secret"], after.body, after.headers["leerkring-signature"])
    shown = (await client.get(f"/api/v1/webhooks/{created['webhook']['id']}", headers=vng)).json()
    assert "secret" not in shown, "a secret is shown only when it is made"
