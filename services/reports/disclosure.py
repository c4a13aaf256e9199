"""Disclosure control for funder reports: no figure may single out a person, however the tables are sliced.

Three layers, each against a different attack (README "Rapportages: onthullingsbeheersing"):

1. Primary suppression: a cell in which fewer than k distinct people (registered or present) appear shows "<k".
2. Secondary suppression: in every line of a published table (the cells of a row or column with its total), a
   suppressed entry never stands alone, and the suppressed entries together hold at least k people, so no total
   minus the shown cells gives it back.
3. Cell-key perturbation (the ABS/Eurostat cell key method) against differencing between tables, which suppression
   cannot stop: every record (a person at a meeting) carries a secret random key; a cell's key is the sum of its
   records' keys, and the noise added to a count is a function of that key, the measure and the true value. The
   same people give the same figure in every table (asking again, or asking an overlapping table, averages nothing
   away), while two overlapping tables subtracted give the difference plus unknown noise, not the person.

Everything here is pure: the SQL returns true counts and cell keys, this module decides what is published.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

# Cell keys are sums of 31-bit record keys taken modulo this.
KEY_MODULUS = 2**31 - 1

# The perturbation table: noise -2..+2 with these probabilities (variance 1.2); a cell can move at most 2.
NOISE_VALUES = (-2, -1, 0, 1, 2)
NOISE_WEIGHTS = (0.1, 0.2, 0.4, 0.2, 0.1)

SECONDARY = "x"


def small(k: int) -> str:
    """What a primary-suppressed cell shows."""
    return f"<{k}"


def noise(secret: bytes, cell_key: int, measure: str, value: int, spread: int = 2) -> int:
    """The noise for `value` of `measure` in the cell with `cell_key`; 0 when perturbation is off (spread 0).

    A function of (key, measure, value): the same cell shows the same figure everywhere, and a cell that gains one
    record gets fresh noise rather than the old noise plus one."""
    if spread == 0:
        return 0
    digest = hashlib.blake2b(f"{cell_key % KEY_MODULUS}:{measure}:{value}".encode(), key=secret[:64], digest_size=8)
    u = int.from_bytes(digest.digest(), "big") / 2**64
    cumulative = 0.0
    for d, w in zip(NOISE_VALUES, NOISE_WEIGHTS, strict=True):
        cumulative += w
        if u < cumulative:
            return max(-spread, min(spread, d))
    return 0


def perturb(secret: bytes, cell_key: int, measure: str, value: int, spread: int = 2) -> int:
    """The published count: zero stays zero (no records, nothing to hide), anything else stays at least 1."""
    if value == 0:
        return 0
    return max(1, value + noise(secret, cell_key, measure, value, spread))


@dataclass
class Entry:
    """One cell of a table as the suppression sees it: how many people it holds and whether it is shown."""

    persons: int
    status: Literal["primary", "secondary"] | None = None  # None: shown
    # Breaks ties between complements of equal size, so a table always hides the same cells.
    order: str = ""


@dataclass
class Line:
    """Entries bound by one equation: `total` is (about) the sum of `cells`."""

    cells: list[Entry]
    total: Entry
    entries: list[Entry] = field(init=False)

    def __post_init__(self) -> None:
        self.entries = [*self.cells, self.total]


def primary(entries: Iterable[Entry], k: int) -> None:
    for e in entries:
        if 0 < e.persons < k:
            e.status = "primary"


def _protect(line: Line, k: int) -> bool:
    """Suppress one more entry if the line would give a suppressed one away; True when something changed."""
    hidden = [e for e in line.entries if e.status is not None]
    if not hidden:
        return False
    # Safe when at least two entries are hidden and together they hold k people (then no single one, nor their
    # sum, is a small count that the shown entries reveal).
    if len(hidden) >= 2 and sum(e.persons for e in hidden) >= k:
        return False
    candidates = [e for e in line.cells if e.status is None and e.persons > 0]
    if not candidates:
        candidates = [e for e in line.entries if e.status is None and e.persons > 0]
    if not candidates:
        return False  # everything else is zero: nothing to hide behind, and the zeros disclose nobody
    min(candidates, key=lambda e: (e.persons, e.order)).status = "secondary"
    return True


def secondary(lines: Sequence[Line], k: int) -> None:
    """Hide complements until every line protects its suppressed entries (a line can reopen another: iterate)."""
    changed = True
    while changed:
        changed = False
        for line in lines:
            while _protect(line, k):
                changed = True
