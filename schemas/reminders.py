"""Reminder rules as the API reads and writes them: `{"before": "P7D", "at": "09:00"}`.

`before` is an ISO 8601 duration before the meeting's start (weeks, days, hours, minutes: months and years
have no fixed length); `at` is an optional local time of day in the meeting's time zone. The meaning is in
services/reminders/rules.py.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

Duration = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=20,
        pattern=r"^P(?!$)(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?)?$",
        description="ISO 8601 duration before the start, e.g. P7D, P1D, PT2H, PT30M",
    ),
]
LocalTime = Annotated[
    str,
    msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time of day in the meeting's zone, HH:MM"),
]
MAX_RULES = 5


class ReminderRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`ask_after`: people who registered at least this long before the reminder get the "Kom je nog?" variant
    (one click: yes, or I cannot after all) instead of the plain reminder."""

    before: Duration
    at: LocalTime | None = None
    ask_after: Duration | None = None


ReminderRules = Annotated[list[ReminderRule], msgspec.Meta(max_length=MAX_RULES)]

DEFAULT_RULES: tuple[ReminderRule, ...] = (
    ReminderRule(before="P7D", at="09:00"),
    ReminderRule(before="P1D", at="09:00"),
)
