"""The waiting-list rules, without I/O: examples, and a Hypothesis state machine over random histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from services.seats.rules import Seats, WaitlistModel, admit, capacity_allowed, promotable, promotion

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seats", "enabled", "expected"),
    [
        (Seats(2, 1, 0, 0), True, "confirmed"),
        (Seats(2, 1, 1, 0), True, "waitlisted"),  # a held offer is a taken seat
        (Seats(2, 2, 0, 0), False, "refused"),
        # A free seat while people wait never goes to a newcomer (it belongs to the head of the queue).
        (Seats(3, 1, 0, 4), True, "waitlisted"),
        (Seats(3, 1, 0, 4), False, "refused"),
    ],
)
def test_admit(seats: Seats, enabled: bool, expected: str):
    assert admit(seats, waitlist_enabled=enabled) == expected


def test_promotable_and_capacity():
    assert promotable(Seats(5, 3, 0, 10)) == 2
    assert promotable(Seats(5, 3, 1, 10)) == 1
    assert promotable(Seats(5, 3, 0, 1)) == 1
    assert promotable(Seats(5, 6, 0, 1)) == 0
    assert capacity_allowed(Seats(5, 3, 1, 0), 4)
    assert not capacity_allowed(Seats(5, 3, 1, 0), 3)


def test_offer_deadline_never_passes_the_start():
    assert promotion("auto", now=NOW, starts_at=NOW + timedelta(days=9), offer_hours=48) == ("confirmed", None)
    far = promotion("offer", now=NOW, starts_at=NOW + timedelta(days=9), offer_hours=48)
    assert far == ("offered", NOW + timedelta(hours=48))
    near = promotion("offer", now=NOW, starts_at=NOW + timedelta(hours=3), offer_hours=48)
    assert near == ("offered", NOW + timedelta(hours=3))
    started = promotion("offer", now=NOW, starts_at=NOW - timedelta(minutes=5), offer_hours=48)
    assert started == ("confirmed", None), "after the start there is no time to hold a seat"


class WaitingList(RuleBasedStateMachine):
    """Random histories of one meeting: nobody is overbooked, nobody is skipped, no seat idles while people wait."""

    def __init__(self) -> None:
        super().__init__()
        self.model = WaitlistModel(capacity=3)
        self.waited_since: dict[int, int] = {}

    @rule(
        capacity=st.integers(min_value=1, max_value=6),
        mode=st.sampled_from(["auto", "offer"]),
        enabled=st.booleans(),
    )
    @precondition(lambda self: not self.model.entries)
    def configure(self, capacity: int, mode: str, enabled: bool) -> None:
        self.model = WaitlistModel(capacity=capacity, mode=mode, waitlist_enabled=enabled)  # type: ignore[arg-type]

    @rule(person=st.integers(min_value=0, max_value=15))
    def register(self, person: int) -> None:
        before = self.model.active(person)
        status = self.model.register(person)
        if before is not None:
            assert status == before.status, "registering twice changes nothing"
        elif status == "waitlisted":
            entry = self.model.active(person)
            assert entry is not None
            assert entry.position == self.model.seq, "newcomers join at the end"

    @rule(person=st.integers(min_value=0, max_value=15))
    def cancel(self, person: int) -> None:
        self.model.cancel(person)

    @rule(capacity=st.integers(min_value=1, max_value=8))
    def change_capacity(self, capacity: int) -> None:
        held = self.model.seats().held
        assert self.model.set_capacity(capacity) == (capacity >= held)

    @rule(data=st.data())
    def offer_ends(self, data: st.DataObject) -> None:
        offered = [e.person for e in self.model.entries if e.status == "offered"]
        if not offered:
            return
        person = data.draw(st.sampled_from(offered))
        how = data.draw(st.sampled_from(["accept", "decline", "expire"]))
        if how == "expire":
            assert self.model.expire_offer(person)
        else:
            assert self.model.answer_offer(person, accept=how == "accept")

    @invariant()
    def never_overbooked(self) -> None:
        seats = self.model.seats()
        assert seats.confirmed + seats.offered <= seats.capacity

    @invariant()
    def no_seat_idles_while_people_wait(self) -> None:
        seats = self.model.seats()
        assert seats.waitlisted == 0 or seats.free == 0

    @invariant()
    def nobody_is_skipped(self) -> None:
        promoted = self.model.promoted_positions
        assert promoted == sorted(promoted), "seats go down the queue in position order"
        queue = self.model.queue()
        if promoted and queue:
            assert queue[0].position is not None
            assert queue[0].position > promoted[-1]

    @invariant()
    def one_active_registration_per_person(self) -> None:
        people = [e.person for e in self.model.entries if e.status in ("confirmed", "waitlisted", "offered")]
        assert len(people) == len(set(people))

    @invariant()
    def positions_are_unique_and_increasing(self) -> None:
        positions = [e.position for e in self.model.entries if e.position is not None]
        assert positions == sorted(set(positions))


TestWaitingList = WaitingList.TestCase
TestWaitingList.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
