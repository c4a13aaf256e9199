"""One gate per mail server: while the server is away, senders wait here instead of spending mails on it.

A mail transfer agent does not retry every queued message against a server that refuses connections; it marks the
server down, waits, and sends one probe at a time. So here:

    await gate.passage(limit)      # open: at once; down: wait, or be the one probe that is due
    try:
        await transport.send(message)
    except ServerDown:
        gate.failed()              # closes the gate, or (for a probe) doubles the wait, capped at `cap`
        raise
    gate.answered()                # any answer from the server (250, 4xx, 5xx) opens it again

While the gate is down, one caller every `delay` seconds (first..cap: 0.25 s, 0.5 s, ... 3 s) gets through as the
probe; the others sleep until the gate opens or `limit` runs out (`GateClosed`, so their job can be deferred rather
than hold a worker slot). Sending therefore resumes within `cap` seconds of the server's recovery.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class GateClosed(Exception):
    """The mail server stayed away for as long as the caller was willing to wait."""

    def __init__(self, down_for: float, retry_in: float) -> None:
        super().__init__(f"mailserver onbereikbaar sinds {down_for:.0f}s")
        self.down_for = down_for
        self.retry_in = retry_in


class MailGate:
    def __init__(self, *, first: float = 0.25, cap: float = 3.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.first, self.cap, self._clock = first, cap, clock
        self._down_since: float | None = None
        self._delay = first
        self._next_probe = 0.0
        self._probing = False
        self._changed = asyncio.Event()  # replaced on every change; waiters hold the one they saw

    @property
    def down(self) -> bool:
        return self._down_since is not None

    @property
    def delay(self) -> float:
        """The current wait between probes (0 while the gate is open)."""
        return self._delay if self.down else 0.0

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def passage(self, limit: float) -> bool:
        """Return when a send may go. True: the gate is down and this caller's send is the probe (it must end in
        `answered()`, `failed(probe=True)` or `abandoned()`). Raises GateClosed after `limit` seconds of waiting."""
        deadline = self._clock() + limit
        while self._down_since is not None:
            now = self._clock()
            if not self._probing and now >= self._next_probe:
                self._probing = True
                return True
            if now >= deadline:
                raise GateClosed(now - self._down_since, max(self._next_probe - now, self._delay))
            # Sleep until the gate opens, the probe fails (a change), the next probe is due, or the deadline.
            until = deadline if self._probing else min(deadline, self._next_probe)
            changed = self._changed
            try:
                async with asyncio.timeout(max(until - now, 0.005)):
                    await changed.wait()
            except TimeoutError:
                pass
        return False

    def answered(self) -> None:
        """The server answered (whatever it said): it is up."""
        was_down = self._down_since is not None or self._probing
        self._down_since, self._delay, self._probing = None, self.first, False
        if was_down:
            self._notify()

    def failed(self, *, probe: bool) -> None:
        """A send found the server away. Only the first such failure and failed probes move the clock: sends that
        were already on the wire when the server went down say nothing new."""
        now = self._clock()
        if self._down_since is None:
            self._down_since, self._delay = now, self.first
        elif probe:
            self._delay = min(self._delay * 2, self.cap)
        else:
            return
        self._probing = False
        self._next_probe = now + self._delay
        self._notify()

    def abandoned(self) -> None:
        """The probe did not reach the server (cancelled, or a message that could not be built): let another try."""
        if self._probing:
            self._probing = False
            self._notify()
