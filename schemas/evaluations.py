"""Evaluation settings on a meeting and the results the API shows."""

from __future__ import annotations

from typing import Annotated

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
