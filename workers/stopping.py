"""Stopping on time: the budgets of a worker's shutdown, and waiting for tasks without trusting them to stop.

A process manager sends SIGTERM and, after its grace period, SIGKILL. A worker that is killed is recovered
(workers/recovery.py), but a clean stop hands its claims back at once and finishes the sends already on the
wire, so every step of the shutdown gets a share of the grace period (`budget`) and nothing waits unbounded.

Why not simply cancel and await: on Python 3.11 `asyncio.wait_for` (and so any library built on it) can
swallow a cancellation that arrives in the same loop iteration as the awaited result (CPython gh-86296). A
loop whose cancellation was swallowed just goes on, and whoever awaits it waits forever. So a task is asked to
stop first (stop events; the loops stop between steps), then cancelled, then cancelled once more, each time
with a deadline; a task that still runs after that is abandoned and its stack logged, so the hang is visible.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Collection
from typing import Any

import msgspec

from workers.settings import WorkerTuning

log = logging.getLogger(__name__)

# How long a cancelled task gets to unwind (its finally blocks: a statement to finish, a connection to release).
AFTER_CANCEL = 2.0
# Share of the grace period kept free: interpreter exit, log flushing, a loaded machine.
MARGIN = 0.1


class StopBudget(msgspec.Struct, frozen=True, kw_only=True):
    """Seconds for each step of `LeerkringWorker.close()` (workers/arq_internals.py), all within `total`."""

    total: float  # close() as a whole; past it whatever still runs is abandoned
    jobs: float  # cancelled jobs unwinding (their shielded sends go on, see `sends`)
    loops: float  # relay, maintenance and webhook loops finishing their current step
    cleanup: float  # kept back for handing back claims, deregistering and closing pools

    @property
    def sends(self) -> float:
        """Shielded sends still on the wire: what the other steps leave."""
        return max(0.0, self.total - self.jobs - self.loops - self.cleanup)


def budget(tuning: WorkerTuning) -> StopBudget:
    """Divide the grace period: `shutdown_wait` for running jobs (arq's own wait after the signal), arq's main loop
    unwinding and the last cancellations (4 × AFTER_CANCEL), and the rest for close()."""
    total = max(1.0, (1 - MARGIN) * tuning.stop_grace - tuning.shutdown_wait - 4 * AFTER_CANCEL)
    return StopBudget(total=total, jobs=min(5.0, total / 8), loops=min(5.0, total / 8), cleanup=min(10.0, total / 4))


async def stop_tasks(tasks: Collection[asyncio.Future[Any]], *, within: float, what: str) -> set[asyncio.Future[Any]]:
    """Give `tasks` `within` seconds to end by themselves, then cancel them twice, AFTER_CANCEL seconds each time.

    Returns the tasks that still run (abandoned; their stacks are logged). Never raises for the tasks' outcomes.
    """
    pending = {t for t in tasks if not t.done()}
    if pending and within > 0:
        _, pending = await asyncio.wait(pending, timeout=within)
    for _ in range(2):  # the second cancel covers one that was swallowed (gh-86296)
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=AFTER_CANCEL)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.debug("%s ended with %r", what, task.exception())
    if pending:
        log.error("%d %s did not stop and were abandoned:\n%s", len(pending), what, describe(pending))
    return pending


async def bounded(step: Awaitable[Any], seconds: float, what: str) -> bool:
    """Await `step` for at most `seconds`; True when it completed, False (logged) when it timed out or failed.
    A cancellation of the caller still propagates."""
    try:
        async with asyncio.timeout(max(0.0, seconds)):
            await step
    except TimeoutError:
        log.warning("shutdown: %s took longer than %.1fs; skipped", what, seconds)
    except Exception:
        log.warning("shutdown: %s failed", what, exc_info=True)
    else:
        return True
    return False


def describe(tasks: Collection[asyncio.Future[Any]]) -> str:
    """Each task's await chain, outermost first (Task.print_stack shows only the outermost frame)."""
    return "\n".join(_chain(task) for task in tasks)


def _chain(task: asyncio.Future[Any]) -> str:
    name = task.get_name() if isinstance(task, asyncio.Task) else repr(task)
    lines = [f"task {name}:"]
    obj: Any = task.get_coro() if isinstance(task, asyncio.Task) else None
    while obj is not None:
        frame = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None) or getattr(obj, "ag_frame", None)
        if frame is not None:
            lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        awaited = getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None) or getattr(obj, "ag_await", None)
        if awaited is None and frame is None:
            lines.append(f"  waiting on {obj!r}"[:300])
        obj = awaited
    waiter = getattr(task, "_fut_waiter", None)
    if waiter is not None:
        lines.append(f"  waiting on {waiter!r}"[:300])
    return "\n".join(lines)


def all_other_tasks() -> set[asyncio.Future[Any]]:
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}
