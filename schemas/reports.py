"""Funder reports: aggregates only, never a name, address, participant id or free text."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

# A published figure: a number, "<k" (fewer than k people) or "x" (hidden so that "<k" cannot be recovered).
Count = int | str
Figure = float | str | None


class ReportRow(msgspec.Struct, frozen=True, kw_only=True):
    """One cell: its codes (`dimensions`, absent dimensions are totals), their names and the measures."""

    dimensions: dict[str, str | None]
    labels: dict[str, str]
    meetings_held: Count | None
    seats_offered: int | None
    registrations: Count
    attended: Count
    no_shows: Count
    no_show_rate: Figure
    unique_participants: Count
    municipalities_reached: Count
    municipalities_total: int | None
    participant_hours: Figure
    evaluation_response_rate: Figure
    average_grade: Figure
    # None: shown; "primary": fewer than k people; "secondary": hidden to protect another cell.
    suppressed: Literal["primary", "secondary"] | None


class Report(msgspec.Struct, frozen=True, kw_only=True):
    funder: str | None
    period_from: date
    period_to: date
    group_by: list[str]
    municipality_as_of: Literal["meeting", "today"]
    k: int
    generated_at: datetime
    rows: list[ReportRow]
    # With two dimensions: the total of each value of each dimension.
    subtotals: list[ReportRow]
    total: ReportRow


ReportFrequency = Literal["month", "quarter"]


class SubscriptionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^\s@]+@[^\s@]+\.[^\s@]+$")]
    frequency: ReportFrequency = "month"
    group_by: Annotated[list[str], msgspec.Meta(max_length=2)] = msgspec.field(default_factory=list)
    funder: str | None = None  # admins only


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    funder_code: str
    email: str
    frequency: ReportFrequency
    group_by: list[str]
    created_at: datetime
    cancelled_at: datetime | None
    next_period_from: date | None = None
