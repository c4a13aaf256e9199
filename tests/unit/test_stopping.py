"""Waiting for tasks without trusting them to stop: a swallowed cancellation, a task that never stops, budgets."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
import pytest

from workers import stopping
from workers.settings import WorkerTuning
from workers.stopping import budget, stop_tasks


async def test_a_task_that_stops_by_itself_is_not_cancelled() -> None:
    done = asyncio.Event()

    async def loop() -> None:
        await done.wait()

    task = asyncio.create_task(loop())
    asyncio.get_running_loop().call_later(0.05, done.set)
    assert await stop_tasks([task], within=5.0, what="loop") == set()
    assert task.done()
    assert not task.cancelled()


async def test_a_swallowed_cancellation_is_followed_by_a_second_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stopping, "AFTER_CANCEL", 0.5)
    cancels = 0

    async def swallows_one() -> None:
        nonlocal cancels
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancels += 1
                if cancels == 2:
                    raise
                # What asyncio.wait_for on 3.11 does when the cancellation arrives with the result (gh-86296).

    task = asyncio.create_task(swallows_one())
    await asyncio.sleep(0)
    assert await stop_tasks([task], within=0.0, what="loop") == set()
    assert task.cancelled()
    assert cancels == 2


async def test_a_task_that_never_stops_is_abandoned_with_its_stack_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(stopping, "AFTER_CANCEL", 0.1)
    release = asyncio.Event()

    async def stubborn_step() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    async def stubborn() -> None:
        await stubborn_step()

    task = asyncio.create_task(stubborn(), name="stubborn loop")
    await asyncio.sleep(0)
    assert await stop_tasks([task], within=0.1, what="background loop(s)") == {task}
    assert not task.done()
    assert "1 background loop(s) did not stop" in caplog.text
    assert "task stubborn loop:" in caplog.text
    assert "in stubborn_step" in caplog.text, "the whole await chain, not only the outermost frame"
    release.set()
    task.cancel()
    await asyncio.wait([task], timeout=1)


def test_the_budget_fits_the_grace_period_of_deploy() -> None:
    tuning = WorkerTuning()
    assert tuning.stop_grace == 60.0, "deploy/ (k8s, systemd, compose) gives a worker 60 s"
    shares = budget(tuning)
    worst = tuning.shutdown_wait + 4 * stopping.AFTER_CANCEL + shares.total + 2 * stopping.AFTER_CANCEL
    assert worst <= tuning.stop_grace
    assert shares.jobs + shares.loops + shares.cleanup + shares.sends == pytest.approx(shares.total)
    assert min(shares.jobs, shares.loops, shares.cleanup, shares.sends) > 0
    tight = budget(msgspec.structs.replace(tuning, stop_grace=5.0, shutdown_wait=10.0))
    assert tight.total >= 1.0, "a grace period shorter than the job wait still leaves close() a second"


async def test_a_bounded_step_says_whether_it_completed(caplog: pytest.LogCaptureFixture) -> None:
    assert await stopping.bounded(asyncio.sleep(0), 1.0, "a quick step") is True
    assert await stopping.bounded(asyncio.Event().wait(), 0.05, "closing a pool") is False
    assert "closing a pool took longer than 0.1s; skipped" in caplog.text

    async def fails() -> None:
        raise ConnectionError("weg")

    assert await stopping.bounded(fails(), 1.0, "handing back claims") is False
    assert "handing back claims failed" in caplog.text
