"""How a worker process behaves: arq tuning, retry policy, sweep intervals, retention.

`Settings` (services/settings.py) says where things are; this says how hard and how often to work.
It reads `LEERKRING_WORKER_*` variables so operators can tune without code, and tests construct it
directly with short intervals.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec

ENV_PREFIX = "LEERKRING_WORKER_"


class WorkerTuning(msgspec.Struct, frozen=True, kw_only=True):
    # arq takes at most max_jobs jobs per poll, so a worker never does more than max_jobs / poll_delay jobs
    # a second: 20/s at arq's default 0.5 s (NOTES.md measured 200/s with max_jobs=10). 10 ms lifts that
    # ceiling to 3,200/s for ~100 cheap ZRANGEBYSCOREs a second per idle worker.
    poll_delay: float = 0.01
    # I/O-bound jobs (PostgreSQL, SMTP, HTTP): a few dozen in flight saturate two cores.
    max_jobs: int = 32
    job_timeout: float = 120.0
    # Results live in PostgreSQL (event_jobs), so arq keeps none: storing them cost a pickle and a key per job.
    keep_result: float = 0.0
    # Seconds a stopping worker lets running jobs finish before cancelling (and so re-queueing) them.
    shutdown_wait: float = 10.0
    # The process manager's grace period between SIGTERM and SIGKILL. deploy/ sets 60 s in all three places
    # (k8s terminationGracePeriodSeconds, systemd TimeoutStopSec, compose stop_grace_period): change them
    # together. Every step of a shutdown gets a share of it (workers/stopping.py: budget), so the worker is gone
    # before SIGKILL, with its claims handed back.
    stop_grace: float = 60.0
    # The worker's /metrics and /healthz (workers/probe.py); 0: none. deploy/ sets 9100 (and host 0.0.0.0 in a pod).
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"

    # Retry policy for event jobs: attempt n waits min(retry_base * 2**(n-1), retry_cap) seconds;
    # after max_attempts the job becomes a dead letter.
    max_attempts: int = 10
    retry_base: float = 2.0
    retry_cap: float = 600.0
    # A job that waits for an outside service (JobDeferred: the mail server is away) spends no attempts for this
    # long after its event; like a mail transfer agent's queue lifetime. It is also how long a mail that keeps
    # failing transiently (4xx) is tried before it is given up. LEERKRING_MAIL_RETRY_HORIZON sets it too.
    defer_horizon: float = 24 * 3600.0

    # Mail (workers/mailgate.py, workers/deliveries): while the server is away, one probe every mail_gate_first
    # seconds, doubling up to mail_gate_cap, so sending resumes within a few seconds of its recovery. A sender
    # waits at the gate this long before its job is deferred (a batch job; a single mail waits a tenth of it).
    mail_gate_first: float = 0.25
    mail_gate_cap: float = 3.0
    mail_wait: float = 30.0
    # A recipient the server answered 4xx for (greylisting, a full mailbox) is tried again after
    # min(mail_retry_base * 2**(n-1), mail_retry_cap) seconds, n the delivery's attempts so far.
    mail_retry_base: float = 60.0
    mail_retry_cap: float = 3600.0

    # The relay and the maintenance loop.
    relay_batch: int = 500
    # Events of one short job (workers/registry.py: JobSpec.batchable) that one arq job carries at most. The relay
    # spreads what it publishes for a job over at least max_jobs arq jobs, so batches form only under load; each
    # saves arq's per-job Redis round trips, which were a quarter of a no-op job's cost. 1: every event alone.
    job_batch: int = 16
    relay_sweep_interval: float = 2.0
    sweep_interval: float = 1.0
    # A worker is dead when its liveness lock is gone AND it has not been seen for this long.
    dead_after: float = 3.0
    # A pending job not seen in Redis for this long is checked for and re-enqueued if lost (e.g. FLUSHALL).
    lost_check_after: float = 30.0
    lost_check_batch: int = 500
    purge_interval: float = 300.0
    outbox_retention_days: int = 30

    # A claimed delivery whose claimant stopped answering may be claimed again after this long.
    # Crashed workers are detected sooner through their liveness lock; the lease is the fallback.
    delivery_lease: float = 180.0

    # Webhooks: attempt n waits min(webhook_retry_base * 2**(n-1), webhook_retry_cap) seconds (±20 %).
    webhook_retry_base: float = 30.0
    webhook_retry_cap: float = 12 * 3600.0
    webhook_give_up_after: float = 3 * 24 * 3600.0
    webhook_timeout: float = 10.0
    webhook_batch: int = 50

    # PostgreSQL pool per worker process; each running job may hold one connection.
    db_pool_max: int = 0  # 0: max_jobs + 4
    # A second, small pool with asynchronous commit for the ledger's own bookkeeping (relay, START/DONE,
    # heartbeat): if a PostgreSQL crash loses its last writes, a job merely runs again.
    ledger_pool_max: int = 4

    @property
    def pool_max(self) -> int:
        return self.db_pool_max or self.max_jobs + 4


def load_tuning(environ: Mapping[str, str] | None = None) -> WorkerTuning:
    """Build WorkerTuning from LEERKRING_WORKER_* variables (e.g. LEERKRING_WORKER_MAX_JOBS=16)."""
    source = os.environ if environ is None else environ
    fields = {f.name for f in msgspec.structs.fields(WorkerTuning)}
    raw = {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in source.items()
        if key.startswith(ENV_PREFIX) and value != "" and key[len(ENV_PREFIX) :].lower() in fields
    }
    horizon = source.get(MAIL_RETRY_HORIZON, "")
    if horizon and "defer_horizon" not in raw:
        raw["defer_horizon"] = str(parse_duration(horizon))
    return msgspec.convert(raw, WorkerTuning, strict=False)


MAIL_RETRY_HORIZON = "LEERKRING_MAIL_RETRY_HORIZON"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str) -> float:
    """Seconds from "86400", "90m", "24h" or "2d"; raises ValueError for anything else."""
    text = value.strip().lower()
    unit = _UNITS.get(text[-1:], 0)
    number = float(text[:-1] if unit else text)
    if number < 0:
        raise ValueError(f"a duration cannot be negative: {value!r}")
    return number * (unit or 1)


def retry_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff: base, 2·base, 4·base, ... never more than cap."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)))
