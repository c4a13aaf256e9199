"""Waiting-list rules as pure functions, plus a reference model of one meeting's queue.

The service applies these rules to rows it holds under the meeting's lock; the model applies the same rules to
an in-memory queue so property tests can drive thousands of random histories through them and replay a few of
those histories against PostgreSQL. The hot path (services/registrations/reserve.RESERVE) mirrors `admit` in SQL
to decide inside the statement that takes the lock; the replay test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

WaitlistMode = Literal["auto", "offer"]
Admission = Literal["confirmed", "waitlisted", "refused"]
Promotion = Literal["confirmed", "offered"]
ACTIVE = ("confirmed", "waitlisted", "offered")


@dataclass(frozen=True, slots=True)
class Seats:
    capacity: int
    confirmed: int
    offered: int
    waitlisted: int

    @property
    def held(self) -> int:
        """Seats that belong to someone: confirmed, or held for an offer that has not been answered."""
        return self.confirmed + self.offered

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.held)


def admit(seats: Seats, *, waitlist_enabled: bool) -> Admission:
    """A newcomer gets a seat only when one is free and nobody is waiting: arriving later never jumps the queue."""
    if seats.free > 0 and seats.waitlisted == 0:
        return "confirmed"
    return "waitlisted" if waitlist_enabled else "refused"


def promotable(seats: Seats) -> int:
    """How many people at the head of the waiting list get a seat now."""
    return min(seats.free, seats.waitlisted)


def promotion(
    mode: WaitlistMode, *, now: datetime, starts_at: datetime, offer_hours: int
) -> tuple[Promotion, datetime | None]:
    """What a promoted person gets: a seat at once, or an offer held until a deadline that never passes the start."""
    if mode == "auto":
        return "confirmed", None
    deadline = min(now + timedelta(hours=offer_hours), starts_at)
    if deadline <= now:
        # The meeting has started: holding a seat for an answer would leave it empty, so confirm directly.
        return "confirmed", None
    return "offered", deadline


def capacity_allowed(seats: Seats, new_capacity: int) -> bool:
    """Capacity may drop only to the seats already held; we never take a seat back from someone."""
    return new_capacity >= seats.held


@dataclass
class Entry:
    person: int
    status: str
    position: int | None


@dataclass
class WaitlistModel:
    """One meeting's registrations in memory, with the service's transitions. Time is abstract: offers expire
    only when told to."""

    capacity: int
    mode: WaitlistMode = "auto"
    waitlist_enabled: bool = True
    entries: list[Entry] = field(default_factory=list)
    seq: int = 0
    # Positions in the order people left the waiting list for a seat; must be increasing.
    promoted_positions: list[int] = field(default_factory=list)

    def seats(self) -> Seats:
        count = {s: sum(1 for e in self.entries if e.status == s) for s in ACTIVE}
        return Seats(self.capacity, count["confirmed"], count["offered"], count["waitlisted"])

    def active(self, person: int) -> Entry | None:
        return next((e for e in self.entries if e.person == person and e.status in ACTIVE), None)

    def register(self, person: int) -> str:
        existing = self.active(person)
        if existing is not None:
            return existing.status
        decision = admit(self.seats(), waitlist_enabled=self.waitlist_enabled)
        if decision == "refused":
            return decision
        position = None
        if decision == "waitlisted":
            self.seq += 1
            position = self.seq
        self.entries.append(Entry(person, decision, position))
        return decision

    def cancel(self, person: int) -> bool:
        entry = self.active(person)
        if entry is None:
            return False
        entry.status = "cancelled"
        self._fill()
        return True

    def set_capacity(self, capacity: int) -> bool:
        if not capacity_allowed(self.seats(), capacity):
            return False
        self.capacity = capacity
        self._fill()
        return True

    def answer_offer(self, person: int, *, accept: bool) -> bool:
        entry = self.active(person)
        if entry is None or entry.status != "offered":
            return False
        entry.status = "confirmed" if accept else "declined"
        self._fill()
        return True

    def expire_offer(self, person: int) -> bool:
        entry = self.active(person)
        if entry is None or entry.status != "offered":
            return False
        entry.status = "cancelled"
        self._fill()
        return True

    def queue(self) -> list[Entry]:
        return sorted((e for e in self.entries if e.status == "waitlisted"), key=lambda e: e.position or 0)

    def _fill(self) -> None:
        target: Promotion = "confirmed" if self.mode == "auto" else "offered"
        for entry in self.queue()[: promotable(self.seats())]:
            entry.status = target
            self.promoted_positions.append(entry.position or 0)
