"""Starting a worker: `leerkring worker` calls `run_worker(settings)`.

One worker process runs arq (the jobs) plus the relay, the sweeps and the recovery loops
(workers/lifecycle.py). Run as many as needed; they coordinate through PostgreSQL.

SIGTERM/SIGINT: stop taking jobs, let running ones finish for `shutdown_wait` seconds, cancel the
rest (arq puts them back on the queue for another worker), then shut down cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker

from services.settings import Settings
from workers.jobs import load_all
from workers.ledger import ARQ_MAX_TRIES, arq_function
from workers.lifecycle import shutdown, startup
from workers.mailer import MailTransport
from workers.registry import JobSpec
from workers.routes import EVERY_EVENT, ROUTES
from workers.settings import WorkerTuning, load_tuning

log = logging.getLogger(__name__)

HEALTH_CHECK_INTERVAL = 10


class LeerkringWorker(Worker):
    """arq's Worker with a shutdown that always completes.

    arq 0.28 `close()` cancels running jobs and then gathers them without `return_exceptions`: a job
    cancelled while arq records its result re-raises CancelledError out of `close()`, so `on_shutdown`
    (our deregistration and cleanup) never runs. Same steps here, tolerant of that; and `aclose()`
    instead of the deprecated `close()` of redis-py 5.
    """

    async def close(self) -> None:
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if not self._pool:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        await self.pool.delete(self.health_check_key)
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        await self.pool.aclose(close_connection_pool=True)
        self._pool = None


def check_routes(jobs: dict[str, JobSpec]) -> None:
    """Refuse to start when a route names a job nobody registered (a typo would silently drop work)."""
    routed = {n for names in ROUTES.values() for n in names} | set(EVERY_EVENT)
    missing = sorted(routed - set(jobs))
    if missing:
        raise RuntimeError(f"workers/routes.py names unknown job(s): {', '.join(missing)}")


def build_worker(
    settings: Settings,
    tuning: WorkerTuning | None = None,
    *,
    mailer: MailTransport | None = None,
    redis_pool: ArqRedis | None = None,
    handle_signals: bool = False,
    burst: bool = False,
    run_relay: bool = True,
) -> Worker:
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
        allow_abort_jobs=True,
        retry_jobs=True,
    )


async def serve(settings: Settings, tuning: WorkerTuning | None = None) -> None:
    """Run one worker until SIGTERM/SIGINT."""
    worker = build_worker(settings, tuning, handle_signals=True)
    try:
        await worker.async_run()
    except asyncio.CancelledError:
        pass  # the signal handler cancels arq's main task; what follows is the orderly part
    finally:
        await worker.close()


def run_worker(settings: Settings) -> None:
    """Blocking: run a worker process until it is told to stop."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(settings))
