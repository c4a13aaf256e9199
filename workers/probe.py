"""The worker's own small HTTP port (LEERKRING_WORKER_METRICS_PORT; 0, the default, means none):

    GET /metrics   this process's counters (jobs by outcome, mails by outcome, relayed events) and gauges (the mail
                   gate, the age of the maintenance loop's last round), Prometheus text format
    GET /healthz   200 while the process works: not stopping, every background loop running, and the maintenance
                   loop's last round recent; 503 with the reason otherwise (the Kubernetes liveness probe)

Each worker is its own process with its own counters, so each has its own port (systemd instances: one port each;
Kubernetes: one per pod, scraped through the pod's annotation or a PodMonitor). Plain asyncio, no framework: two
fixed answers do not need one, and the port must keep answering while jobs fill the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import msgspec
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

from services.observe.metrics import CONTENT_TYPE, exposition
from services.observe.state import Families
from workers.context import Ctx, tuning_of
from workers.mailgate import MailGate

log = logging.getLogger(__name__)

TICK = "maintenance_tick"  # ctx key: time.monotonic() of the maintenance loop's last round (workers/lifecycle.py)


def stale_after(ctx: Ctx) -> float:
    """The maintenance loop is stuck when its last round is older than this: a round waits at most a few bounded
    statements (5 s each) and then sweep_interval."""
    return max(60.0, 10 * tuning_of(ctx).sweep_interval)


def health(ctx: Ctx) -> tuple[bool, dict[str, object]]:
    """(healthy, details) for /healthz."""
    stopping = ctx.get("stopping")
    loops: list[asyncio.Task[None]] = ctx.get("loops", [])
    dead = sorted(t.get_name() for t in loops if t.done())
    age = time.monotonic() - float(ctx.get(TICK, time.monotonic()))
    details: dict[str, object] = {"worker_id": ctx.get("worker_id"), "maintenance_age_seconds": round(age, 1)}
    if stopping is not None and stopping.is_set():
        return False, {"status": "stopping", **details}
    if dead:
        return False, {"status": "loop stopped", "loops": dead, **details}
    if age > stale_after(ctx):
        return False, {"status": "maintenance stuck", **details}
    return True, {"status": "ok", **details}


def gauges(ctx: Ctx) -> CollectorRegistry:
    gate: MailGate | None = ctx.get("mailgate")
    families: list[Metric] = []
    if gate is not None:
        families.append(GaugeMetricFamily("leerkring_smtp_down", "1 while the mail server is away", value=gate.down))
        families.append(
            GaugeMetricFamily("leerkring_smtp_probe_interval_seconds", "Wait between probes (0: up)", value=gate.delay)
        )
    families.append(
        GaugeMetricFamily(
            "leerkring_worker_maintenance_age_seconds",
            "Since the maintenance loop's last round",
            value=time.monotonic() - float(ctx.get(TICK, time.monotonic())),
        )
    )
    inflight = len(ctx.get("inflight", ()))
    families.append(GaugeMetricFamily("leerkring_worker_inflight_sends", "Shielded sends on the wire", value=inflight))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families(families))
    return registry


def _answer(status: int, body: bytes, content_type: str) -> bytes:
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}.get(status, "")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


async def _serve(ctx: Ctx, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        async with asyncio.timeout(5):
            request = await reader.readline()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # headers: nothing we need
        parts = request.decode("latin-1").split()
        path = parts[1].split("?")[0] if len(parts) >= 2 else ""
        if path == "/metrics":
            reply = _answer(200, exposition(gauges(ctx)), CONTENT_TYPE)
        elif path == "/healthz":
            ok, details = health(ctx)
            reply = _answer(200 if ok else 503, msgspec.json.encode(details), "application/json")
        else:
            reply = _answer(404, b"not found\n", "text/plain")
        writer.write(reply)
        await writer.drain()
    except (TimeoutError, ConnectionError):
        pass  # a slow or vanished client: nothing to answer
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def start(ctx: Ctx, host: str, port: int) -> asyncio.Server:
    server = await asyncio.start_server(lambda r, w: _serve(ctx, r, w), host, port)
    log.info("worker probe on http://%s:%d (/metrics, /healthz)", host, port)
    return server


def stop(ctx: Ctx) -> None:
    server: asyncio.Server | None = ctx.get("probe")
    if server is not None:
        server.close()
