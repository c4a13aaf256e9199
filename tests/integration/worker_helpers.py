"""Worker processes for tests that stop or kill them: their environment, with short intervals."""

from __future__ import annotations

import os
from pathlib import Path

from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def worker_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEERKRING_")}
    env.update(
        PYTHONPATH=str(ROOT),
        LEERKRING_DATABASE_URL=settings.database_url or "",
        LEERKRING_REDIS_URL=settings.redis_url or "",
        LEERKRING_SMTP_URL=settings.smtp_url or "",
        LEERKRING_SECRET_KEY="test",
        LEERKRING_VAR_DIR=str(tmp_path),
        LEERKRING_WORKER_POLL_DELAY="0.01",
        LEERKRING_WORKER_MAX_JOBS="16",
        # Pools as small as workers/testing.FAST's: two suites share one PostgreSQL's 100 connections.
        LEERKRING_WORKER_DB_POOL_MAX="6",
        LEERKRING_WORKER_LEDGER_POOL_MAX="2",
        LEERKRING_WORKER_SWEEP_INTERVAL="0.1",
        LEERKRING_WORKER_RELAY_SWEEP_INTERVAL="0.25",
        LEERKRING_WORKER_DEAD_AFTER="0.5",
        LEERKRING_WORKER_LOST_CHECK_AFTER="1",
        LEERKRING_WORKER_SHUTDOWN_WAIT="2",
        # A clean stop is over within this (the tests wait as long for it); production gives 60 s.
        LEERKRING_WORKER_STOP_GRACE="20",
    )
    return env
