"""Periodic sweeps: functions every worker runs in its maintenance loop (workers/lifecycle.py), every
`sweep_interval` seconds (default 1 s), or at most every `every` seconds for the ones that need not.

Each sweep gets a connection with its own transaction and returns how many things it did; one that renders
(feed fragments) also gets the worker's settings, the same the jobs use. Several workers run the same sweeps at
the same time, so a sweep must claim its rows with `FOR UPDATE SKIP LOCKED` (or be harmless when run twice). An
exception is logged and the transaction rolled back; it never stops the worker or the other sweeps.

To add one: write `async def my_sweep(conn: Connection) -> int` (or `(conn, settings)`) next to the rows it
owns and append it below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from services import scheduling
from services.db import Connection
from services.evaluations import mailing as evaluations
from services.feeds import fragments
from services.registrations.idempotency import purge_idempotency_keys
from services.reminders.service import fire_due as fire_due_reminders
from services.seats.service import expire_due_offers
from services.settings import Settings


@dataclass(frozen=True, slots=True)
class Sweep:
    fn: Callable[..., Awaitable[int]]  # fn(conn), or fn(conn, settings) when with_settings
    with_settings: bool = False
    every: float = 0.0  # seconds between runs in one worker; 0: every maintenance tick

    async def run(self, conn: Connection, settings: Settings) -> int:
        result: Any = await (self.fn(conn, settings) if self.with_settings else self.fn(conn))
        return int(result or 0)

    @property
    def name(self) -> str:
        return str(getattr(self.fn, "__qualname__", repr(self.fn)))


SWEEPS: list[Sweep] = [
    Sweep(scheduling.run_due),
    Sweep(fragments.refresh_stale_fragments, with_settings=True, every=fragments.SWEEP_INTERVAL),
    Sweep(expire_due_offers),
    Sweep(purge_idempotency_keys),
    Sweep(fire_due_reminders),
    Sweep(evaluations.sweep, every=5.0),
]
