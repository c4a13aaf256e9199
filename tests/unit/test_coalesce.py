"""Coalesced statements: concurrent callers share one send, each gets its own outcome, and a failure reaches all."""

from __future__ import annotations

import asyncio

import pytest

from workers.coalesce import Coalesced


class Recorder:
    def __init__(self) -> None:
        self.sends: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, keys: list[int]) -> dict[int, str]:
        self.sends.append(keys)
        await self.gate.wait()
        return {k: f"row {k}" for k in keys if k % 2 == 0}


async def test_a_lone_call_goes_out_at_once_and_concurrent_ones_share_the_next_send() -> None:
    send = Recorder()
    call = Coalesced(send)
    assert await call(2) == "row 2"
    assert send.sends == [[2]]
    send.gate.clear()  # the next send stays on the wire while more callers arrive
    first = asyncio.ensure_future(call(4))
    await asyncio.sleep(0)
    rest = [asyncio.ensure_future(call(k)) for k in (5, 6, 6)]
    await asyncio.sleep(0)
    send.gate.set()
    assert await asyncio.gather(first, *rest) == ["row 4", None, "row 6", "row 6"]
    assert send.sends == [[2], [4], [5, 6]], "the three that arrived meanwhile went in one send, duplicates once"


async def test_a_failed_send_reaches_every_caller_of_that_send_and_the_next_one_still_works() -> None:
    fail = True

    async def send(keys: list[int]) -> dict[int, str]:
        await asyncio.sleep(0)
        if fail:
            raise ConnectionError("PostgreSQL is weg")
        return dict.fromkeys(keys, "ok")

    call = Coalesced(send)
    results = await asyncio.gather(call(1), call(2), return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    fail = False
    assert await call(3) == "ok"


async def test_a_cancelled_caller_leaves_the_others_their_results() -> None:
    send = Recorder()
    send.gate.clear()
    call = Coalesced(send)
    gone, stays = asyncio.ensure_future(call(2)), asyncio.ensure_future(call(4))
    await asyncio.sleep(0)
    gone.cancel()
    send.gate.set()
    assert await stays == "row 4"
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_many_keys_of_one_caller_go_in_one_send_and_come_back_in_order() -> None:
    send = Recorder()
    call = Coalesced(send)
    assert await call.many([4, 3, 2]) == ["row 4", None, "row 2"]
    assert send.sends == [[4, 3, 2]]
