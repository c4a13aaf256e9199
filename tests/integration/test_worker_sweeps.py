"""Sweeps run with the worker's own settings: a fragment the sweep renders links to the worker's base_url, the
same as the jobs do, whatever the process environment says."""

from __future__ import annotations

from uuid import UUID

import msgspec
import pytest

from services.db import Connection
from services.settings import Settings
from tests.integration.invitation_helpers import Client, published_meeting
from workers.routes import ROUTES
from workers.testing import running_workers, wait_until


async def test_the_stale_fragment_sweep_renders_with_the_workers_base_url(
    client: Client,
    vng: dict[str, str],
    conn: Connection,
    worker_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No render job: only the sweep can make this fragment.
    monkeypatch.setitem(ROUTES, "meeting.published", ("sync_meeting_schedule",))
    monkeypatch.setenv("LEERKRING_BASE_URL", "https://uit-de-omgeving.test")
    meeting = await published_meeting(client, vng)
    settings = msgspec.structs.replace(worker_settings, base_url="https://werkproces.test")
    meeting_id = UUID(meeting["id"])

    async def rendered() -> bool:
        return bool(await conn.fetchval("SELECT count(*) FROM meeting_fragments WHERE meeting_id = $1", meeting_id))

    async with running_workers(settings):
        await wait_until(rendered, within=30)
    vevent = bytes(await conn.fetchval("SELECT vevent FROM meeting_fragments WHERE meeting_id = $1", meeting_id))
    unfolded = vevent.decode().replace("\r\n ", "")
    assert f"https://werkproces.test/bijeenkomsten/{meeting['id']}" in unfolded
    assert "uit-de-omgeving" not in unfolded
