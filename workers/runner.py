"""Starting a worker: `leerkring worker` calls `run_worker(settings)`.

One worker process runs arq (the jobs) plus the relay, the sweeps and the recovery loops
(workers/lifecycle.py). Run as many as needed; they coordinate through PostgreSQL.

SIGTERM/SIGINT: stop taking jobs, let running ones finish for `shutdown_wait` seconds, cancel the
rest (arq puts them back on the queue for another worker), then shut down cleanly, all within the
process manager's grace period (`stop_grace`, workers/stopping.py). A shutdown that had to abandon a
task that would not stop exits at once with status 1, its stack in the log, instead of hanging until
SIGKILL.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from arq.connections import ArqRedis, RedisSettings

from schemas.events import EVENT_TYPES
from services.settings import Settings
from workers.arq_internals import LeerkringWorker
from workers.jobs import load_all
from workers.ledger import ARQ_MAX_TRIES, arq_function
from workers.lifecycle import abandon, shutdown, startup
from workers.mailer import MailTransport
from workers.registry import JobSpec
from workers.routes import EVERY_EVENT, ROUTES, WEBHOOK_ONLY
from workers.settings import WorkerTuning, load_tuning
from workers.stopping import AFTER_CANCEL, budget, stop_tasks

log = logging.getLogger(__name__)

HEALTH_CHECK_INTERVAL = 10


def check_routes(jobs: dict[str, JobSpec]) -> None:
    """Refuse to start when a route names a job nobody registered (a typo would silently drop work), or when an
    event type has neither a routed job nor a WEBHOOK_ONLY mark (a promise nobody keeps)."""
    routed = {n for names in ROUTES.values() for n in names} | set(EVERY_EVENT)
    missing = sorted(routed - set(jobs))
    if missing:
        raise RuntimeError(f"workers/routes.py names unknown job(s): {', '.join(missing)}")
    unknown = sorted((set(ROUTES) | set(WEBHOOK_ONLY)) - set(EVENT_TYPES))
    if unknown:
        raise RuntimeError(
            f"workers/routes.py names event type(s) schemas/events.py does not have: {', '.join(unknown)}"
        )
    stale = sorted(t for t in WEBHOOK_ONLY if ROUTES.get(t))
    if stale:
        raise RuntimeError(f"routed event type(s) still marked WEBHOOK_ONLY in workers/routes.py: {', '.join(stale)}")
    unconsumed = sorted(t for t in EVENT_TYPES if not ROUTES.get(t) and t not in WEBHOOK_ONLY)
    if unconsumed:
        raise RuntimeError(
            f"event type(s) with no job and no WEBHOOK_ONLY mark in workers/routes.py: {', '.join(unconsumed)}"
        )


def build_worker(
    settings: Settings,
    tuning: WorkerTuning | None = None,
    *,
    mailer: MailTransport | None = None,
    redis_pool: ArqRedis | None = None,
    handle_signals: bool = False,
    burst: bool = False,
    run_relay: bool = True,
) -> LeerkringWorker:
    """An arq Worker with every registered job, the relay and the loops. Call from inside the event loop."""
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("a worker needs database_url and redis_url; `leerkring worker` fills them in when unset")
    tuning = tuning or load_tuning()
    jobs = load_all()
    check_routes(jobs)
    ctx: dict[str, Any] = {"settings": settings, "tuning": tuning, "run_relay": run_relay}
    if mailer is not None:
        ctx["mailer"] = mailer
    return LeerkringWorker(
        functions=[arq_function(spec, tuning) for spec in jobs.values()],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        redis_pool=redis_pool,
        ctx=ctx,
        on_startup=startup,
        on_shutdown=shutdown,
        burst=burst,
        handle_signals=handle_signals,
        job_completion_wait=max(0, round(tuning.shutdown_wait)),
        max_jobs=tuning.max_jobs,
        job_timeout=tuning.job_timeout,
        keep_result=tuning.keep_result,
        poll_delay=tuning.poll_delay,
        max_tries=ARQ_MAX_TRIES,
        health_check_interval=HEALTH_CHECK_INTERVAL,
        # Nothing aborts jobs (re-runs go through the ledger): spare arq the abort check on every poll and job.
        allow_abort_jobs=False,
        retry_jobs=True,
        stop_budget=budget(tuning),
        on_abandon=abandon,
    )


async def serve(settings: Settings, tuning: WorkerTuning | None = None) -> bool:
    """Run one worker until SIGTERM/SIGINT; True when it stopped cleanly (nothing had to be abandoned)."""
    worker = build_worker(settings, tuning, handle_signals=True)
    signalled = asyncio.Event()
    # arq calls on_stop right after it cancelled the jobs and its main task.
    worker.on_stop = lambda _signal: signalled.set()
    run = asyncio.ensure_future(worker.async_run())
    told = asyncio.ensure_future(signalled.wait())
    try:
        await asyncio.wait({run, told}, return_when=asyncio.FIRST_COMPLETED)
        if not run.done() and await stop_tasks({run}, within=AFTER_CANCEL, what="arq main loop"):
            return False
        if not run.cancelled():
            run.result()  # a failed startup raises here
    finally:
        told.cancel()
        await worker.close()
    return worker.clean


def run_worker(settings: Settings) -> None:
    """Blocking: run a worker process until it is told to stop."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runner = asyncio.Runner()
    try:
        clean = runner.run(serve(settings))
    except BaseException:
        runner.close()
        raise
    if not clean:
        # asyncio's own clean-up would wait for the abandoned tasks, and so hang until SIGKILL.
        log.error("exiting without waiting for the task(s) that would not stop (stacks above)")
        logging.shutdown()
        os._exit(1)
    runner.close()
