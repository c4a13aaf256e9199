"""Periodic sweeps: functions every worker runs every `sweep_interval` seconds (default 1 s).

Each sweep gets a connection with its own transaction and returns how many things it did. Several
workers run the same sweeps at the same time, so a sweep must claim its rows with
`FOR UPDATE SKIP LOCKED` (or be harmless when run twice). An exception is logged and the
transaction rolled back; it never stops the worker or the other sweeps.

To add one: write `async def my_sweep(conn: Connection) -> int` next to the rows it owns and append
it below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from services import scheduling
from services.db import Connection
from services.feeds.fragments import refresh_stale_fragments
from services.registrations.idempotency import purge_idempotency_keys
from services.seats.service import expire_due_offers

Sweep = Callable[[Connection], Awaitable[int]]

SWEEPS: list[Sweep] = [
    scheduling.run_due,
    refresh_stale_fragments,
    expire_due_offers,
    purge_idempotency_keys,
]
