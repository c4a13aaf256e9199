"""The job registry: `@job` marks a coroutine as an event job the worker runs.

An event job has the signature `async def name(ctx: dict[str, Any], outbox_id: int) -> None` and
is routed to event types in workers/routes.py. The worker wraps every registered job with the
ledger (workers/ledger.py): skip when already done, retry with backoff, dead-letter at the end.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

EventJob = Callable[[dict[str, Any], int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    fn: EventJob
    # Run this job for one aggregate one event at a time, in outbox order (see workers/ledger.py).
    ordered: bool = False
    # None: WorkerTuning.max_attempts.
    max_attempts: int | None = None
    # None: WorkerTuning.job_timeout.
    timeout: float | None = None

    @property
    def batchable(self) -> bool:
        """Whether the relay may put several events of this job into one arq job (workers/ledger.py: execute_batch):
        the short jobs. Not an ordered one (it waits for its predecessors one event at a time), nor one with a
        timeout of its own (a long job: a fan-out, a solver run, which should not hold others up)."""
        return not self.ordered and self.timeout is None


JOBS: dict[str, JobSpec] = {}


def job(
    name: str | None = None,
    *,
    ordered: bool = False,
    max_attempts: int | None = None,
    timeout: float | None = None,
) -> Callable[[EventJob], EventJob]:
    """Register an event job under `name` (default: the function's name). Raises on a duplicate name."""

    def register(fn: EventJob) -> EventJob:
        key = name or fn.__name__
        existing = JOBS.get(key)
        if existing is not None and existing.fn is not fn:
            raise RuntimeError(f"job {key!r} is registered twice")
        JOBS[key] = JobSpec(name=key, fn=fn, ordered=ordered, max_attempts=max_attempts, timeout=timeout)
        return fn

    return register


class PermanentJobError(Exception):
    """Raise from a job when retrying cannot help: the job goes to the dead letters at once."""


class JobDeferred(Exception):
    """Raise from a job that cannot do its work yet for a reason that is not its own (the mail server does not
    answer): the ledger runs it again after `delay` seconds without spending an attempt, for as long as the event
    is younger than WorkerTuning.defer_horizon. Past the horizon a deferral counts as a failed attempt, so a
    service that never comes back still ends in the dead letters."""

    def __init__(self, reason: str, *, delay: float) -> None:
        super().__init__(reason)
        self.delay = delay
