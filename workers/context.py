"""What a job receives in `ctx`, and typed ways to read it.

Keys set by the worker (workers/lifecycle.py) before the first job runs:

    pool       asyncpg pool with our JSON codecs (services.db.create_pool)
    ledger_pool  small pool with asynchronous commit, for the job ledger's own bookkeeping only
    settings   services.settings.Settings
    tuning     workers.settings.WorkerTuning
    mailer     workers.mailer.MailTransport (SMTP, or .eml files under var/mail when no SMTP is set)
    mailgate   workers.mailgate.MailGate: this worker's senders wait there while the mail server is away
    http       httpx.AsyncClient for outbound webhooks (short timeouts, no redirects)
    worker_id  this process's row in worker_processes (marks claims so a crash can be recovered)
    redis      arq's ArqRedis (set by arq itself)
    job_id, job_try, enqueue_time, score   per job, set by arq
"""

from __future__ import annotations

from typing import Any, cast

import httpx
from arq.connections import ArqRedis

from schemas.events import Event
from services.db import Pool
from services.outbox import event_from_row
from services.settings import Settings
from workers.mailer import MailTransport
from workers.mailgate import MailGate
from workers.settings import WorkerTuning

Ctx = dict[str, Any]

EVENT_COLUMNS = "id, event_id, type, aggregate_id, occurred_at, version, payload"
# The same, qualified, for queries that join outbox as `o`.
EVENT_COLUMNS_O = "o.id, o.event_id, o.type, o.aggregate_id, o.occurred_at, o.version, o.payload"


class EventGone(LookupError):
    """The outbox row no longer exists (purged after the retention period)."""


def pool_of(ctx: Ctx) -> Pool:
    return cast("Pool", ctx["pool"])


def settings_of(ctx: Ctx) -> Settings:
    return cast("Settings", ctx["settings"])


def tuning_of(ctx: Ctx) -> WorkerTuning:
    return cast("WorkerTuning", ctx["tuning"])


def mailer_of(ctx: Ctx) -> MailTransport:
    return cast("MailTransport", ctx["mailer"])


def gate_of(ctx: Ctx) -> MailGate:
    """The worker's gate for its mail server (one transport, one server); made on first use for a bare ctx."""
    gate = ctx.get("mailgate")
    if not isinstance(gate, MailGate):
        tuning = ctx.get("tuning")
        gate = MailGate(first=tuning.mail_gate_first, cap=tuning.mail_gate_cap) if tuning else MailGate()
        ctx["mailgate"] = gate
    return gate


def http_of(ctx: Ctx) -> httpx.AsyncClient:
    return cast("httpx.AsyncClient", ctx["http"])


def redis_of(ctx: Ctx) -> ArqRedis:
    return cast("ArqRedis", ctx["redis"])


def worker_id_of(ctx: Ctx) -> int | None:
    # The control connection's id is the current one: it changes if this worker had to register anew.
    control = ctx.get("control")
    value = getattr(control, "worker_id", None) or ctx.get("worker_id")
    return int(value) if value is not None else None


def ledger_pool_of(ctx: Ctx) -> Pool:
    return cast("Pool", ctx.get("ledger_pool") or ctx["pool"])


async def load_event(ctx: Ctx, outbox_id: int) -> Event:
    """The event a job was enqueued for. Raises EventGone when the row was purged."""
    cached = ctx.get("event")
    if isinstance(cached, Event) and cached.seq == outbox_id:
        return cached  # read by the ledger together with the job's start (workers/ledger.py)
    row = await pool_of(ctx).fetchrow(f"SELECT {EVENT_COLUMNS} FROM outbox WHERE id = $1", outbox_id)
    if row is None:
        raise EventGone(outbox_id)
    return event_from_row(row)
