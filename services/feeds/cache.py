"""The per-process cache of assembled shared feeds, and how it learns that an entry went stale.

Every API process keeps its own bodies, so invalidation cannot be a message to "the" cache: each process asks
PostgreSQL. It reads `feed_state.generation` (a one-row table bumped in the same transaction as every change to a
feed) at most once per `recheck_seconds`; concurrent requests share that one query. An entry is served only when
it was verified at the current (generation, day) token. After a change an entry is verified again with one
aggregate query over the feed's fragments, and rebuilt only when its content really differs.

So a change reaches every process within `recheck_seconds` of its commit, and between two changes a feed request
costs a dict lookup, with no query at all.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from services.db import Pool
from services.feeds import queries as q
from services.feeds.queries import FeedFilter
from services.feeds.respond import Representation
from services.feeds.windows import Window, today

RECHECK_SECONDS = 1.0
MAX_BYTES = 128 * 1024 * 1024
_LOCK_STRIPES = 64


class Token(NamedTuple):
    """What an entry was verified against: the feed generation and the day its window is measured from."""

    generation: int
    day: datetime  # midnight UTC (services/feeds/windows.today): every window moves once a day


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One shared feed: its URL path (below /feeds/, without .ics), calendar name and contents."""

    path: str
    name: str
    filter: FeedFilter
    window: Window
    about: str  # Dutch, for the subscribe links: what it holds and which need it fits
    change_keys: tuple[str, ...]  # feed_changes keys whose marks move this feed's Last-Modified


@dataclass(slots=True)
class SharedFeed:
    spec: FeedSpec
    token: Token  # verified against this; served as is while the current token equals it
    count: int  # how many fragments, and the XOR of their content hashes: the version check's answer
    xor: int
    rep: Representation  # body, ETag, Last-Modified and encoded response heads

    @property
    def size(self) -> int:
        return len(self.rep.body)


class FeedCache:
    """Bounded LRU of SharedFeed entries plus the generation check; one per application (app.state.feed_cache)."""

    def __init__(self, *, recheck_seconds: float = RECHECK_SECONDS, max_bytes: int = MAX_BYTES) -> None:
        self.recheck_seconds = recheck_seconds
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, SharedFeed] = OrderedDict()
        self._missing: OrderedDict[str, Token] = OrderedDict()
        self._token: Token | None = None
        self._checked_at = 0.0
        self._token_lock = asyncio.Lock()
        self._locks = [asyncio.Lock() for _ in range(_LOCK_STRIPES)]

    def fresh_token(self) -> Token | None:
        """The current token if it was read from PostgreSQL less than recheck_seconds ago."""
        if self._token is not None and time.monotonic() - self._checked_at < self.recheck_seconds:
            return self._token
        return None

    @property
    def latest_token(self) -> Token | None:
        return self._token

    async def token(self, pool: Pool) -> Token:
        """The current token, reading the generation when the last read is too old (one query for all waiters)."""
        token = self.fresh_token()
        if token is not None:
            return token
        async with self._token_lock:
            token = self.fresh_token()
            if token is not None:
                return token
            started = time.monotonic()  # before the query: the answer is at least this fresh
            async with pool.acquire() as conn:
                generation = await q.generation(conn)
            self._token = Token(generation, today())
            self._checked_at = started
            return self._token

    def lock(self, key: str) -> asyncio.Lock:
        """One rebuild per feed at a time (striped, so unknown keys cannot grow a lock table)."""
        return self._locks[hash(key) % _LOCK_STRIPES]

    def get(self, key: str) -> SharedFeed | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: SharedFeed) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        total = sum(e.size for e in self._entries.values())
        while total > self.max_bytes and len(self._entries) > 1:
            _, evicted = self._entries.popitem(last=False)
            total -= evicted.size

    def is_missing(self, key: str, token: Token) -> bool:
        return self._missing.get(key) == token

    def mark_missing(self, key: str, token: Token) -> None:
        """Remember that a feed does not exist (until the next change), so guessing names costs no queries."""
        self._missing[key] = token
        self._missing.move_to_end(key)
        while len(self._missing) > 1024:
            self._missing.popitem(last=False)
