"""Who is alive: each worker process registers in `worker_processes` and holds a session advisory lock
on its row's id over a dedicated connection for as long as it runs.

When the process dies, even by SIGKILL, the kernel closes that socket and PostgreSQL drops the
lock at once, so other workers can tell a crash within seconds instead of waiting out leases and
arq's in-progress timeout (job_timeout + 10 s). A worker counts as dead only when its lock is gone
AND it has not updated `seen_at` for `dead_after` seconds: a live worker whose control connection
merely dropped keeps heart-beating over its pool and re-takes the lock on reconnect. After a
PostgreSQL outage every lock is gone and every heartbeat stale at once, so a worker that just
(re)connected judges nobody for 2 × dead_after; and a worker that was taken for dead anyway
registers under a new id instead of carrying on under one nobody watches.

The same connection carries LISTEN for the relay, so a worker uses one extra connection in all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from services.db import Connection, Pool, connect, required

log = logging.getLogger(__name__)

# The first key of the two-key advisory lock; the second is the worker id (pg_locks: classid, objid).
LIVENESS_LOCK_CLASS = 0x1EE4_C41B

Listener = Callable[[Any, int, str, object], None]

_DEAD_WORKERS = """
SELECT w.id FROM worker_processes w
WHERE w.stopped_at IS NULL
  AND w.seen_at < now() - make_interval(secs => $1)
  AND NOT EXISTS (
      SELECT 1 FROM pg_locks l
      WHERE l.locktype = 'advisory'
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = $2::oid AND l.objid = w.id::oid AND l.objsubid = 2 AND l.granted
  )
ORDER BY w.id
FOR UPDATE OF w SKIP LOCKED
"""


class ControlConnection:
    """The worker's registration, its liveness lock and its LISTEN channels, reconnected when lost."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: Connection | None = None
        self._listeners: dict[str, Listener] = {}
        self.worker_id: int | None = None
        # When the connection was last (re)opened: right after an outage every other worker's heartbeat is
        # stale and its lock not yet re-taken, so nobody may be declared dead until they had time to return.
        self.opened_at = 0.0

    async def start(self) -> int:
        """Register this process and take its lock; returns the worker id."""
        await self._open()
        return required(self.worker_id)

    async def _open(self) -> None:
        conn = await connect(self._dsn)
        try:
            # Row and lock in one transaction: no other session can see the row without the lock held.
            async with conn.transaction():
                if self.worker_id is not None and not await conn.fetchval(
                    "UPDATE worker_processes SET seen_at = now() WHERE id = $1 AND stopped_at IS NULL RETURNING id",
                    self.worker_id,
                ):
                    # Declared dead while we were cut off (our claims were handed out): go on as a new worker.
                    log.warning("worker %s was taken for dead during an outage; registering anew", self.worker_id)
                    self.worker_id = None
                if self.worker_id is None:
                    self.worker_id = int(
                        required(
                            await conn.fetchval(
                                "INSERT INTO worker_processes (hostname, pid) VALUES ($1, $2) RETURNING id",
                                socket.gethostname(),
                                os.getpid(),
                            )
                        )
                    )
                await conn.execute("SELECT pg_advisory_lock($1, $2)", LIVENESS_LOCK_CLASS, self.worker_id)
            for channel, callback in self._listeners.items():
                await conn.add_listener(channel, callback)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self.opened_at = time.monotonic()

    async def listen(self, channel: str, callback: Listener) -> None:
        self._listeners[channel] = callback
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.add_listener(channel, callback)

    async def check(self) -> bool:
        """Reconnect when the connection was lost; True when it is (again) healthy."""
        if self._conn is not None and not self._conn.is_closed():
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the shutdown's cancellation when it
                # arrives with the answer (gh-86296), and the maintenance loop then never stops.
                async with asyncio.timeout(5):
                    await self._conn.fetchval("SELECT 1")
                return True
            except Exception:
                log.warning("control connection lost; reconnecting", exc_info=True)
                with contextlib.suppress(Exception):
                    self._conn.terminate()
        try:
            await self._open()
        except Exception:
            log.warning("control connection: reconnect failed", exc_info=True)
            return False
        return True

    def may_judge_others(self, dead_after: float) -> bool:
        """False for a while after (re)connecting: others may still be on their way back."""
        return time.monotonic() - self.opened_at > 2 * dead_after

    async def heartbeat(self, pool: Pool) -> None:
        await pool.execute("UPDATE worker_processes SET seen_at = now() WHERE id = $1", self.worker_id)

    async def stop(self, pool: Pool) -> None:
        """A clean stop: not a crash, so nobody recovers this worker's jobs (arq re-queued them)."""
        with contextlib.suppress(Exception):
            await pool.execute(
                "UPDATE worker_processes SET stopped_at = now() WHERE id = $1 AND stopped_at IS NULL", self.worker_id
            )
        if self._conn is not None:
            try:
                async with asyncio.timeout(5):
                    await self._conn.close()
            except Exception:
                self._conn.terminate()
            self._conn = None

    def terminate(self) -> None:
        """Drop the connection at once: PostgreSQL releases the liveness lock, as after a crash."""
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None


async def claim_dead_workers(conn: Connection, dead_after: float) -> list[int]:
    """Within the caller's transaction: lock and return the ids of workers that died without stopping."""
    rows = await conn.fetch(_DEAD_WORKERS, float(dead_after), LIVENESS_LOCK_CLASS)
    return [int(r["id"]) for r in rows]
