"""When a reminder rule falls, and how rows follow: pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from schemas.reminders import DEFAULT_RULES, ReminderRule
from services.reminders import rules
from services.reminders.queries import Row
from services.reminders.service import plan

AMS = ZoneInfo("Europe/Amsterdam")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("starts_at", "week_before", "day_before"),
    [
        # DST starts on Sunday 28 March 2027: the week before is CET (+01), the day before already CEST (+02).
        ("2027-03-29T13:30:00+02:00", "2027-03-22T08:00:00+00:00", "2027-03-28T07:00:00+00:00"),
        # DST ends on Sunday 31 October 2027: the week before is CEST, the day before already CET.
        ("2027-11-01T13:30:00+01:00", "2027-10-25T07:00:00+00:00", "2027-10-31T08:00:00+00:00"),
    ],
)
def test_nine_local_on_the_day_whatever_the_offset(starts_at: str, week_before: str, day_before: str) -> None:
    week, day = (rules.due_at(rule, at(starts_at), "Europe/Amsterdam") for rule in DEFAULT_RULES)
    assert (week, day) == (at(week_before), at(day_before))
    assert [m.astimezone(AMS).strftime("%H:%M") for m in (week, day)] == ["09:00", "09:00"]


def test_without_a_time_of_day_it_is_exactly_that_long_before() -> None:
    start = at("2027-03-28T04:00:00+02:00")  # two hours after the clocks jumped
    assert rules.due_at(ReminderRule(before="PT2H"), start, "Europe/Amsterdam") == at("2027-03-28T00:00:00+00:00")
    assert rules.due_at(ReminderRule(before="P1W"), start, "UTC") == start - timedelta(days=7)


def test_a_time_of_day_after_the_start_goes_a_day_back() -> None:
    start = at("2027-06-15T09:30:00+02:00")
    due = rules.due_at(ReminderRule(before="PT1H", at="10:00"), start, "Europe/Amsterdam")
    assert due == at("2027-06-14T10:00:00+02:00")
    early = rules.due_at(ReminderRule(before="P1D", at="09:00"), at("2027-06-15T08:30:00+02:00"), "Europe/Amsterdam")
    assert early == at("2027-06-14T09:00:00+02:00"), "the calendar day before, even if a little under 24 hours"


def test_durations_and_keys() -> None:
    assert rules.duration("P1W2DT3H4M") == timedelta(days=9, hours=3, minutes=4)
    for bad in ("P", "PT", "P1M", "P1Y", "1D", "P1DT"):
        with pytest.raises(ValueError, match="not a duration"):
            rules.duration(bad)
    assert [rules.key(r) for r in DEFAULT_RULES] == ["P7D@09:00", "P1D@09:00"]
    assert rules.key(ReminderRule(before="PT2H")) == "PT2H"


def test_problems_name_the_rule() -> None:
    found = rules.problems([ReminderRule(before="PT0M"), ReminderRule(before="P100D"), ReminderRule(before="P1D")])
    assert [(i, f) for i, f, _ in found] == [(0, "before"), (1, "before")]
    twice = rules.problems([ReminderRule(before="P1D"), ReminderRule(before="P1D")])
    assert [(i, text) for i, _, text in twice] == [(1, "Deze herinnering staat er al")]


def test_effective_rules_meeting_then_series_then_default() -> None:
    assert rules.effective(None, None) == DEFAULT_RULES
    assert rules.effective(None, [{"before": "PT2H"}]) == (ReminderRule(before="PT2H"),)
    assert rules.effective([], [{"before": "PT2H"}]) == (), "an empty list on the meeting means none"


NOW = at("2027-01-10T12:00:00+00:00")
R = uuid4()


def row(rule: str, due: datetime, status: str) -> Row:
    return Row(registration_id=R, rule=rule, due_at=due, status=status)


def test_a_new_row_whose_moment_passed_is_skipped_not_sent_late() -> None:
    wanted = {(R, "P7D@09:00"): NOW - timedelta(hours=5), (R, "P1D@09:00"): NOW + timedelta(days=1)}
    assert {(u.rule, u.status) for u in plan({}, wanted, NOW)} == {("P7D@09:00", "skipped"), ("P1D@09:00", "pending")}


def test_a_pending_row_that_fell_due_is_left_to_the_sweep() -> None:
    due = NOW - timedelta(hours=1)
    assert plan({(R, "PT2H"): row("PT2H", due, "pending")}, {(R, "PT2H"): due}, NOW) == []


def test_rows_move_with_the_meeting_and_go_when_not_wanted() -> None:
    old, new = NOW + timedelta(days=2), NOW + timedelta(days=9)
    existing = {(R, "PT2H"): row("PT2H", old, "pending"), (R, "P1D"): row("P1D", old, "pending")}
    changes = plan(existing, {(R, "PT2H"): new}, NOW)
    assert {(u.rule, u.due_at, u.status) for u in changes} == {("PT2H", new, "pending"), ("P1D", old, "cancelled")}


def test_fired_rows_are_history_and_cancelled_ones_come_back() -> None:
    later = NOW + timedelta(days=3)
    existing = {(R, "A"): row("A", later, "fired"), (R, "B"): row("B", later, "cancelled")}
    changes = plan(existing, {(R, "A"): later, (R, "B"): later}, NOW)
    assert [(u.rule, u.status) for u in changes] == [("B", "pending")]
    assert plan({(R, "A"): row("A", later, "fired")}, {}, NOW) == [], "nothing to cancel once fired"


def test_utc_input_gives_utc_output() -> None:
    due = rules.due_at(DEFAULT_RULES[1], at("2027-06-15T11:30:00+00:00"), "Europe/Amsterdam")
    assert due.tzinfo is not None
    assert due.utcoffset() == timedelta(0)
    assert due == datetime(2027, 6, 14, 7, 0, tzinfo=UTC)


def due_row(due: datetime, *, start: datetime, wanted: bool = True, status: str = "published") -> Any:
    from services.reminders.queries import Due

    return Due(
        id=1,
        meeting_id=uuid4(),
        registration_id=R,
        rule="P1D@09:00",
        due_at=due,
        starts_at=start,
        timezone="Europe/Amsterdam",
        meeting_status=status,
        reminders=None,
        series_reminders=None,
        wanted=wanted,
    )


def test_a_due_row_is_checked_against_the_state_when_it_falls_due() -> None:
    from services.reminders.service import _verdict

    start = at("2027-06-15T13:30:00+02:00")
    due = at("2027-06-14T09:00:00+02:00")
    assert _verdict(due_row(due, start=start), due) == "fired"
    assert _verdict(due_row(due, start=start), due + timedelta(hours=3)) == "fired", "late but before the start"
    assert _verdict(due_row(due, start=start), start) == "missed"
    assert _verdict(due_row(due, start=start, wanted=False), due) == "cancelled"
    assert _verdict(due_row(due, start=start, status="cancelled"), due) == "cancelled"
    # A sync raced a move: the row still has the old moment.
    later = start + timedelta(days=7)
    assert _verdict(due_row(due, start=later), due) == due + timedelta(days=7)
    earlier = start - timedelta(days=1)  # its day-before moment has passed, its start has not
    assert _verdict(due_row(due, start=earlier), due) == "skipped"
