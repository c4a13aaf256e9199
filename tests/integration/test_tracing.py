"""Tracing on: one trace from the request through its outbox event into the job that mails, and nothing of the path
(tokens) or the person in any span. Spans go to an in-memory exporter instead of a collector."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from localdev.mailsink import MailSink
from services.app import create_app
from services.db import Connection
from services.observe import tracing
from services.settings import Settings
from tests.api import published
from tests.factories import participant_body
from tests.integration.invitation_helpers import mails
from tests.integration.test_participant_journey import link
from workers.testing import running_workers

REGISTER = "POST /api/v1/meetings/{meeting_id}/registrations"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure("", "leerkring-test", exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.shutdown()


async def test_one_trace_from_the_request_to_the_mail_job(
    spans: InMemorySpanExporter, mail_settings: Settings, vng: dict[str, str], conn: Connection, mail_sink: MailSink
) -> None:
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with AsyncTestClient(app=create_app(mail_settings), base_url="https://leerkring.test") as client:
        meeting = await published(client, vng)
        async with running_workers(mail_settings):
            url = f"/api/v1/meetings/{meeting['id']}/registrations"
            asked = await client.post(url, json={"participant": participant_body(5)}, headers={"traceparent": caller})
            assert asked.status_code == 202, asked.text
            (mail,) = await mails(mail_sink, 1)
            confirm = link(mail, "/bevestigen/")
            assert (await client.get(confirm)).status_code == 200
    finished = spans.get_finished_spans()
    (request,) = [s for s in finished if s.name == REGISTER]
    assert request.kind == SpanKind.SERVER
    assert request.context is not None
    assert request.parent is not None
    assert f"{request.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c", "the caller's trace continues"
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == 202
    jobs = [s for s in finished if s.name == "job registration_request_mail"]
    assert jobs, [s.name for s in finished]
    assert all(j.context is not None and j.context.trace_id == request.context.trace_id for j in jobs)
    assert any(j.parent is not None and j.parent.span_id == request.context.span_id for j in jobs)
    stored = await conn.fetchval("SELECT trace_parent FROM outbox WHERE type = 'registration.requested'")
    assert stored is not None
    assert f"{request.context.span_id:016x}" in stored
    # The confirmation page's span is named after its route, not its path with the token.
    everything = " ".join(f"{s.name} {dict(s.attributes or {})}" for s in finished)
    assert any(s.name.startswith("GET /bevestigen/{") for s in finished), everything
    assert "lkp_" not in everything
    assert "@" not in everything


async def test_tracing_off_writes_no_trace_context(settings: Settings, vng: dict[str, str], conn: Connection) -> None:
    assert not tracing.enabled()
    async with AsyncTestClient(app=create_app(settings)) as client:
        await published(client, vng)
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE trace_parent IS NOT NULL") == 0
    assert await conn.fetchval("SELECT count(*) FROM outbox") > 0
