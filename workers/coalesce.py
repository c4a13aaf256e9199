"""One statement for many concurrent callers: what arrives while a statement is on the wire goes in the next one.

The ledger's START and DONE (workers/ledger.py) are one short statement per job. With dozens of jobs running,
sending each alone spends most of the worker's and PostgreSQL's time on round trips; sending them together adds
no delay when the worker is idle (a lone call goes out at once) and turns N round trips into one under load.
Each caller still waits for its own outcome, so nothing is reported done before PostgreSQL said so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


class Coalesced(Generic[K, R]):
    """`await call(key)` -> the value `send([keys])` returned for that key (None when it returned none)."""

    def __init__(self, send: Callable[[list[K]], Awaitable[dict[K, R]]], *, limit: int = 500) -> None:
        self._send = send
        self._limit = limit
        self._waiting: list[tuple[K, asyncio.Future[R | None]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def __call__(self, key: K) -> R | None:
        return await self._submit(key)

    async def many(self, keys: list[K]) -> list[R | None]:
        """`call` for each key at once, so all of them go in the same statement when none is on the wire."""
        return list(await asyncio.gather(*(self._submit(key) for key in keys)))

    def _submit(self, key: K) -> asyncio.Future[R | None]:
        future: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self._limit], self._waiting[self._limit :]
            try:
                results = await self._send(list(dict.fromkeys(key for key, _ in batch)))
            except BaseException as exc:  # every caller of this batch learns it; a cancellation ends the drain
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
                if not isinstance(exc, Exception):
                    for _, future in self._waiting:
                        future.cancel()
                    self._waiting = []
                    raise
                continue
            for key, future in batch:
                if not future.done():
                    future.set_result(results.get(key))
