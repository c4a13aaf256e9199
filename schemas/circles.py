"""Learning-circle bodies: a round asked for, and the round as composed (circles, members, score)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from schemas.common import HttpUrl, OrgCode, Slug, Title
from schemas.meetings import Audience, AwareDatetime, MeetingFormat, SlugList, Timezone, Venue

CircleSize = Annotated[int, msgspec.Meta(ge=2, le=30)]
Weight = Annotated[int, msgspec.Meta(ge=0, le=100)]
LocalTime = Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
RoundState = Literal["composing", "proposed", "publishing", "published", "infeasible"]
# Circles are numbered from 1 where people read them ("kring 3").
CircleNumber = Annotated[int, msgspec.Meta(ge=1, le=10_000)]


class SessionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class ScheduleIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A rule: `count` sessions, the first on `first_date`, then every `every_weeks` weeks on that weekday."""

    first_date: date
    start_time: LocalTime
    end_time: LocalTime
    every_weeks: Annotated[int, msgspec.Meta(ge=1, le=52)] = 6
    count: Annotated[int, msgspec.Meta(ge=1, le=26)] = 4


class GoalsIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Soft wishes and their weights (0 turns a goal off). Repeat: pairs who shared a circle in an earlier round of
    the same body; region: the province of each member's organisation."""

    region: Literal["spread", "same", "none"] = "spread"
    region_weight: Weight = 3
    experience_weight: Weight = 2
    repeat_weight: Weight = 10


class CircleRoundIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: Title
    organiser_code: OrgCode | None = None
    # Who may join: exactly one of these three.
    signup_meeting_id: UUID | None = None  # the confirmed registrants of a sign-up meeting of the caller's body
    professional_group: Slug | None = None
    audience: Audience | None = None
    size_min: CircleSize = 6
    size_max: CircleSize = 8
    # When the circles meet: dates, or a rule. Exactly one of the two.
    sessions: Annotated[list[SessionIn], msgspec.Meta(min_length=1, max_length=26)] | None = None
    schedule: ScheduleIn | None = None
    timezone: Timezone = "Europe/Amsterdam"
    venue: Venue | None = None
    online_url: HttpUrl | None = None
    format: MeetingFormat = "intervisie"
    themes: SlugList = msgspec.field(default_factory=list)
    funder_codes: Annotated[list[OrgCode], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    goals: GoalsIn = msgspec.field(default_factory=GoalsIn)
    # Pairs of participant ids who must not share a circle (people the body knows).
    apart: Annotated[list[tuple[UUID, UUID]], msgspec.Meta(max_length=1000)] = msgspec.field(default_factory=list)
    time_limit_seconds: Annotated[float, msgspec.Meta(ge=1, le=120)] = 10.0


class MemberPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Move a member to another circle (that pins them there) and/or pin or unpin them."""

    circle: CircleNumber | None = None
    pinned: bool | None = None


class CirclePlaceIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Where one circle meets, instead of the round's venue or online link (null: neither)."""

    venue: Venue | None = None
    online_url: HttpUrl | None = None


class SolveIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Compose again; optionally with another time limit (kept for later solves of this round)."""

    time_limit_seconds: Annotated[float, msgspec.Meta(ge=1, le=120)] | None = None


class JoinIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    participant_id: UUID


class Session(msgspec.Struct, kw_only=True):
    starts_at: datetime
    ends_at: datetime


class Member(msgspec.Struct, kw_only=True):
    member_id: UUID
    # Only for people the caller's body knows (participants.queries.KNOWN_TO); null otherwise.
    participant_id: UUID | None
    name: str | None
    organisation_code: str | None
    region: str | None
    experienced: bool
    pinned: bool
    # A repair proposes this circle for the member (null: stays where they are).
    proposed_circle: int | None = None


class CircleScore(msgspec.Struct, kw_only=True):
    penalty: int  # this circle's part of the objective: lower is better
    size: int
    regions: int
    experienced: int
    repeat_pairs: int


class Circle(msgspec.Struct, kw_only=True):
    number: int
    members: list[Member]
    score: CircleScore
    series_id: UUID | None = None
    # Where it meets: its own place (PUT .../circles/{number}/place) or the round's.
    venue: Venue | None = None
    online_url: str | None = None


class RoundScore(msgspec.Struct, kw_only=True):
    objective: int  # the weighted sum of the soft goals (repair: plus moves); lower is better
    bound: int  # no assignment can score lower than this (CP-SAT's bound)
    gap: float  # (objective - bound) / objective
    greedy_objective: int  # the starting point, for comparison
    solver_status: str  # OPTIMAL, FEASIBLE (time limit reached), INFEASIBLE, UNKNOWN
    seconds: float
    violations: list[str]  # hard constraints the circles break now (after a hand move, or when infeasible)


class Repair(msgspec.Struct, kw_only=True):
    """A published round's proposed repair; apply it with POST /api/v1/circle-rounds/{id}/repair/apply."""

    moves: int  # members who change circle
    placed: int  # joiners who get their first circle
    message: str


class CircleRound(msgspec.Struct, kw_only=True):
    id: UUID
    title: str
    organiser_code: str
    state: RoundState
    size_min: int
    size_max: int
    sessions: list[Session]
    members: int
    circles: list[Circle]
    score: RoundScore | None
    explanation: list[str]  # Dutch: which hard constraint cannot hold, and by how much
    unplaced: list[Member] = msgspec.field(default_factory=list)
    repair: Repair | None = None
    created_at: datetime
    published_at: datetime | None = None


class CircleRoundSummary(msgspec.Struct, kw_only=True):
    """A round in the list of a body's rounds (GET /api/v1/circle-rounds); the round itself has the circles."""

    id: UUID
    title: str
    organiser_code: str
    state: RoundState
    members: int  # who take part (those who left not counted)
    circles: int | None  # null until composed
    created_at: datetime
    published_at: datetime | None
