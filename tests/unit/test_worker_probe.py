"""The worker's /healthz verdict (workers/probe.py) in each state a process can be in; the port itself is walked in
tests/integration/test_metrics.py."""

from __future__ import annotations

import asyncio
import time

from workers import probe
from workers.testing import FAST


async def test_health_follows_stopping_dead_loops_and_a_stuck_maintenance_loop() -> None:
    running = asyncio.create_task(asyncio.sleep(60), name="relay")
    ctx: dict[str, object] = {
        "tuning": FAST,
        "stopping": asyncio.Event(),
        "loops": [running],
        "worker_id": 7,
        probe.TICK: time.monotonic(),
    }
    try:
        assert probe.health(ctx) == (True, {"status": "ok", "worker_id": 7, "maintenance_age_seconds": 0.0})
        ctx[probe.TICK] = time.monotonic() - probe.stale_after(ctx) - 1
        ok, details = probe.health(ctx)
        assert (ok, details["status"]) == (False, "maintenance stuck")
        ctx[probe.TICK] = time.monotonic()
        running.cancel()
        await asyncio.sleep(0)
        ok, details = probe.health(ctx)
        assert (ok, details["status"], details["loops"]) == (False, "loop stopped", ["relay"])
        ctx["stopping"].set()  # type: ignore[attr-defined]
        assert probe.health(ctx)[1]["status"] == "stopping"
    finally:
        running.cancel()
