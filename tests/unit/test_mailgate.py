"""The mail gate: open passes at once; down lets one probe through at growing intervals and wakes all on success."""

from __future__ import annotations

import asyncio

import pytest

from workers.mailgate import GateClosed, MailGate


async def test_an_open_gate_lets_everyone_through_at_once() -> None:
    gate = MailGate()
    assert [await gate.passage(0) for _ in range(3)] == [False, False, False]


async def test_down_one_probe_at_a_time_and_a_good_probe_opens_it_for_all() -> None:
    gate = MailGate(first=0.01, cap=0.04)
    gate.failed(probe=False)
    assert gate.down
    waiters = [asyncio.ensure_future(gate.passage(5)) for _ in range(5)]
    done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    assert [w.result() for w in done] == [True], "exactly one caller is the probe"
    gate.answered()
    rest = await asyncio.gather(*(w for w in waiters if w not in done))
    assert rest == [False] * 4, "the others go as soon as the probe got through"
    assert not gate.down


async def test_failed_probes_double_the_wait_up_to_the_cap_and_stale_failures_change_nothing() -> None:
    gate = MailGate(first=0.01, cap=0.04)
    gate.failed(probe=False)
    delays = [gate.delay]
    for _ in range(4):
        assert await gate.passage(5) is True
        gate.failed(probe=True)
        delays.append(gate.delay)
    assert delays == [0.01, 0.02, 0.04, 0.04, 0.04]
    gate.failed(probe=False)  # a send that was already on the wire when the server went
    assert gate.delay == 0.04


async def test_an_abandoned_probe_lets_the_next_caller_probe() -> None:
    gate = MailGate(first=0.01, cap=0.04)
    gate.failed(probe=False)
    assert await gate.passage(5) is True
    gate.abandoned()
    assert await gate.passage(5) is True


async def test_waiting_longer_than_the_limit_raises_with_when_to_try_again() -> None:
    gate = MailGate(first=10.0, cap=10.0)
    gate.failed(probe=False)
    with pytest.raises(GateClosed) as closed:
        await gate.passage(0.01)
    assert 0 < closed.value.retry_in <= 10.0


def test_the_retry_horizon_comes_from_leerkring_mail_retry_horizon() -> None:
    from workers.settings import load_tuning

    assert load_tuning({}).defer_horizon == 24 * 3600
    assert load_tuning({"LEERKRING_MAIL_RETRY_HORIZON": "6h"}).defer_horizon == 6 * 3600
    assert load_tuning({"LEERKRING_MAIL_RETRY_HORIZON": "900"}).defer_horizon == 900
