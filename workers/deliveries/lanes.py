"""Sending many mails from one job in lanes: the loop invitation batches and evaluation mailings share.

    await run_lanes(ctx, work)            # work: a LaneWork, what the job sends and how it knows it is done

Each lane passes the worker's mail gate (workers/mailgate.py), takes a block (`work.take`: in one short
transaction, lock up to BLOCK rows nobody is sending and claim their deliveries), and sends it through
`send_claimed`, whose `record` books the outcomes on the delivery connection inside the shield. When a take finds
nothing, `work.settle` says whether the job is done; otherwise the lane backs off (IDLE doubling to MAX_IDLE) and
looks again, so sixteen idle lanes do not poll PostgreSQL a hundred times a second.

Deferral, not failure: a lane that waited `mail_wait` at a closed gate, or rows that only wait out a 4xx more than
DEFER_AFTER ahead (`defer_for_retry`), end the job's run with JobDeferred (it runs again later without spending an
attempt); the other lanes are cancelled, blocks on the wire finish (send_claimed is shielded).

Each lane has one mail on the wire at a time and records it before the next, and the lanes of all the worker's jobs
share `lanes_for(tuning)` slots, so a killed worker sends at most that many mails twice.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Coroutine, Sequence
from typing import Any, Generic, Literal, TypeVar

import msgspec

from workers.context import Ctx, gate_of, tuning_of
from workers.deliveries import Claim, Mail, Record, send_claimed
from workers.mailgate import GateClosed, MailGate
from workers.registry import JobDeferred
from workers.settings import WorkerTuning

# Senders per job. Each waits on four SMTP and one PostgreSQL round trip per mail, so it takes a dozen or so to keep
# a server busy; the mailer's pool (16 connections at the default tuning) caps them anyway.
LANES = 16
BLOCK = 50  # rows a lane claims at a time: a block costs a few statements, a mail one; lanes stay balanced
IDLE = 0.05  # seconds an idle lane waits (for new rows, rows another sender holds, a 4xx) before looking again
MAX_IDLE = 1.0
DEFER_AFTER = 5.0  # rows left only waiting out a 4xx this far ahead: defer the job rather than poll


def lanes_for(tuning: WorkerTuning) -> int:
    """Lanes per job, and sending lanes per worker (the jobs share them). A lane holds a pooled connection while it
    sends a block; leave half the pool to everything else. This is also the most mails a killed worker can send
    twice (one per lane)."""
    return max(1, min(LANES, tuning.pool_max // 2))


class Taken(msgspec.Struct, kw_only=True):
    """A block a lane took: its mails and their claims (send_claimed sends those claimed for this sender), and the
    caller's bookkeeping of the outcomes. `sendable` False: nothing of this job is to be sent (any more)."""

    mails: list[Mail]
    claims: dict[str, Claim]
    record: Record | None = None
    sendable: bool = True


NOTHING = Taken(mails=[], claims={}, sendable=False)
T = TypeVar("T", bound=Taken)


class LaneWork(Generic[T]):
    """What a job sends in lanes. `take` and `settle` are required; `look` runs before every pass of the gate."""

    async def look(self, ctx: Ctx) -> None:
        return None

    async def take(self, ctx: Ctx) -> T:
        raise NotImplementedError

    async def settle(self, ctx: Ctx, last: T) -> bool:
        """A take found nothing to send (`last`): True when the job is done; False to look again after a while.
        May raise JobDeferred (defer_for_retry)."""
        raise NotImplementedError


def defer_for_retry(wait: float | None) -> None:
    """Raise JobDeferred when the rows left only wait out a 4xx more than DEFER_AFTER seconds ahead."""
    if wait is not None and wait > DEFER_AFTER:
        raise JobDeferred("ontvangers tijdelijk geweigerd (4xx); later opnieuw", delay=wait)


# The lanes of all jobs in one worker share lanes_for(tuning) slots. Two jobs sending at once (the sweep's second
# mailing of the same meeting, an invitation batch beside an evaluation mailing) otherwise ran twice the lanes
# against a mailer pool and a database pool sized for one set, and every lane waited on both: 10,000 evaluation mails
# in two jobs, a block's take waited 280 ms for a connection and a send 300 ms for an SMTP slot (bench_learning).
# Keyed by the worker's mail gate, which is one per worker (workers/context.py gate_of).
_SLOTS: weakref.WeakKeyDictionary[MailGate, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _slots(ctx: Ctx) -> asyncio.Semaphore:
    gate = gate_of(ctx)
    slots = _SLOTS.get(gate)
    if slots is None:
        slots = _SLOTS[gate] = asyncio.Semaphore(lanes_for(tuning_of(ctx)))
    return slots


async def _step(ctx: Ctx, work: LaneWork[Any]) -> Literal["sent", "idle", "done"]:
    """One pass of a lane: through the gate, take a block, send it; or, with nothing to take, settle."""
    gate = gate_of(ctx)
    await work.look(ctx)
    try:
        probe = await gate.passage(tuning_of(ctx).mail_wait)
    except GateClosed as exc:
        raise JobDeferred(str(exc), delay=exc.retry_in) from exc
    try:
        taken = await work.take(ctx)
    except BaseException:
        if probe:
            gate.abandoned()
        raise
    if taken.mails:
        await send_claimed(ctx, taken.mails, taken.claims, probe=probe, record=taken.record)
        return "sent"
    if probe:
        gate.abandoned()
    return "done" if await work.settle(ctx, taken) else "idle"


async def _lane(ctx: Ctx, work: LaneWork[Any]) -> None:
    slots, idle = _slots(ctx), IDLE
    while True:
        async with slots:  # held for one pass, not while the lane backs off
            step = await _step(ctx, work)
        if step == "done":
            return
        if step == "sent":
            idle = IDLE
            continue
        await asyncio.sleep(idle)
        idle = min(idle * 2, MAX_IDLE)


async def run_lanes(
    ctx: Ctx, work: LaneWork[Any], *, lanes: int | None = None, beside: Sequence[Coroutine[Any, Any, None]] = ()
) -> None:
    """Run `lanes` (default lanes_for) lanes until each is settled; `beside`: tasks of the same job that run along
    (an invitation batch's resolver). Raises JobDeferred when the job is to run again later."""
    try:
        async with asyncio.TaskGroup() as group:
            for task in beside:
                group.create_task(task)
            for _ in range(lanes or lanes_for(tuning_of(ctx))):
                group.create_task(_lane(ctx, work))
    except ExceptionGroup as failed:
        # A deferral from one lane ends the job's run (the other lanes were cancelled; blocks on the wire finish).
        deferred = [e for e in failed.exceptions if isinstance(e, JobDeferred)]
        if deferred and len(deferred) == len(failed.exceptions):
            raise deferred[0] from None
        raise
