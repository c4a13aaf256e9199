"""Evaluation settings on a meeting and the results the API shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from schemas.reminders import Duration

Nudges = Annotated[int, msgspec.Meta(ge=0, le=2, description="at most 2: each further one adds little")]


class EvaluationSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """When the attendees are asked: `send_after` the end, nudged `nudges` times every `nudge_after` while they
    have not answered, closed `closes_after` the first request."""

    send_after: Duration = "PT2H"
    closes_after: Duration = "P14D"
    nudges: Nudges = 1
    nudge_after: Duration = "P3D"


class QuestionResult(msgspec.Struct, kw_only=True):
    key: str
    kind: str
    text: str
    answered: int
    average: float | None = None
    # value -> how many chose it (grades, scales, choices); open questions list their answers instead.
    distribution: dict[str, int] = msgspec.field(default_factory=dict)
    answers: list[str] = msgspec.field(default_factory=list)


class EvaluationResults(msgspec.Struct, kw_only=True):
    meeting_id: str
    status: str  # "not_open", "open", "closed"
    invited: int
    responded: int
    response_rate: float
    # Results appear only from MIN_RESPONSES answers on, so nobody's answer can be singled out.
    shown: bool
    minimum: int
    questions: list[QuestionResult] = msgspec.field(default_factory=list)


QuestionKind = Literal["grade", "scale", "choice", "choices", "text", "consent"]
QuestionKey = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="lower case letters, digits, _; unique")
]
OptionValue = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class OptionIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    value: OptionValue
    label: Label


class QuestionIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One question: `grade` rapportcijfer 1-10, `scale` 1-5 (with `low`/`high` labels), `choice` one of `options`,
    `choices` any of them, `text` open (at most 1,500 characters), `consent` a tick box (never required)."""

    key: QuestionKey
    kind: QuestionKind
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    required: bool = False
    options: Annotated[list[OptionIn], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    low: Annotated[str, msgspec.Meta(max_length=80)] = ""
    high: Annotated[str, msgspec.Meta(max_length=80)] = ""


class QuestionnaireIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    organiser_code: Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$")] | None = None
    questions: Annotated[list[QuestionIn], msgspec.Meta(min_length=1, max_length=30)]


class Questionnaire(msgspec.Struct, kw_only=True):
    """A template; the built-in default has id None and organiser_code None."""

    id: UUID | None
    name: str
    organiser_code: str | None
    questions: list[QuestionIn]
    created_at: datetime | None = None


class EvaluationAggregate(msgspec.Struct, kw_only=True):
    """Results over the meetings of a series or a theme. Only meetings whose own results are shown (at least
    `minimum` answers) count towards the figures per question, so no aggregate can be taken apart into a meeting
    with fewer answers; invited and responded count every meeting in scope (those a meeting shows anyway)."""

    scope: str  # "series", "theme"
    key: str  # the series id or the theme's slug
    title: str
    meetings: int  # with an evaluation opened, in scope for the caller
    meetings_counted: int  # of those, with at least `minimum` answers: the figures per question are theirs
    invited: int
    responded: int
    response_rate: float
    shown: bool
    minimum: int
    questions: list[QuestionResult] = msgspec.field(default_factory=list)
