"""Evaluations: open them when a meeting is over, ask and nudge the attendees, take answers, show results.

When requests and nudges go out is services/evaluations/mailing.py (the sweep) and workers/jobs/evaluation_mailing.py
(one job per meeting, in lanes). Answering sets `answered` in the ledger, which stops the nudges.

Anonymous but once, by construction: the ledger (evaluation_requests) knows who answered but not when, the
answers (evaluation_responses) have a random id and no person, time or sequence; both are written in one
transaction (so an answer is counted exactly once), and that transaction rewrites the meeting's other answers
and answered ledger rows, so PostgreSQL's own row versions (xmin) do not pair one answer with one person either,
and puts the answers back in a random physical order (ctid), so neither does the order they were stored in.
No event or webhook is sent per answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from schemas.evaluations import EvaluationSettings
from services.db import Connection
from services.errors import FieldError, InvalidInput
from services.evaluations.mailing import sweep as sweep  # moved to mailing.py; callers of service.sweep keep working
from services.evaluations.questionnaire import Question, check, load
from services.reminders.rules import duration

MIN_RESPONSES = 3


def settings_of(stored: Any) -> EvaluationSettings:
    return EvaluationSettings() if stored is None else msgspec.convert(stored, EvaluationSettings)


def check_settings(value: EvaluationSettings) -> None:
    """Raises InvalidInput naming the field (`evaluation.closes_after`) that cannot be used."""
    errors = []
    if duration(value.send_after).days > 30:
        errors.append(FieldError(field="evaluation.send_after", message="Verstuur hoogstens 30 dagen na afloop"))
    closes = duration(value.closes_after)
    if not 1 <= closes.days <= 90:
        errors.append(FieldError(field="evaluation.closes_after", message="Sluit na 1 tot 90 dagen"))
    if value.nudges and duration(value.nudge_after) * value.nudges >= closes:
        errors.append(
            FieldError(
                field="evaluation.nudge_after", message="De herinneringen moeten vallen voordat het formulier sluit"
            )
        )
    if value.nudges and duration(value.nudge_after).total_seconds() < 3600:
        errors.append(FieldError(field="evaluation.nudge_after", message="Herinner hoogstens eens per uur"))
    if errors:
        raise InvalidInput(f"{errors[0].field}: {errors[0].message}", errors=errors)


class Form(msgspec.Struct, frozen=True, kw_only=True):
    request_id: UUID
    meeting_id: UUID
    title: str
    answered: bool
    closes_at: datetime
    timezone: str
    questions: tuple[Question, ...]


async def form(conn: Connection, request_id: UUID, *, lock: bool = False) -> Form | None:
    row = await conn.fetchrow(
        f"""
        SELECT r.id, r.meeting_id, r.answered, e.closes_at, e.questionnaire, e.questions, m.title, m.timezone
        FROM evaluation_requests r JOIN evaluations e ON e.meeting_id = r.meeting_id
        JOIN meetings m ON m.id = r.meeting_id WHERE r.id = $1{" FOR UPDATE OF r" if lock else ""}
        """,
        request_id,
    )
    if row is None:
        return None
    return Form(
        request_id=row["id"],
        meeting_id=row["meeting_id"],
        title=row["title"],
        answered=row["answered"],
        closes_at=row["closes_at"],
        timezone=row["timezone"],
        questions=load(row["questions"], row["questionnaire"]),
    )


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    state: str  # "saved", "already", "closed", "invalid", "unknown"
    errors: dict[str, str] = msgspec.field(default_factory=dict)
    form: Form | None = None


async def submit(
    conn: Connection, request_id: UUID, values: Mapping[str, str | Sequence[str]], *, now: datetime | None = None
) -> Outcome:
    """Store one answer for this request, once; in the caller's transaction. Nothing is stored on errors."""
    now = now or datetime.now(UTC)
    found = await form(conn, request_id, lock=True)
    if found is None:
        return Outcome(state="unknown")
    if found.answered:
        return Outcome(state="already", form=found)
    if found.closes_at <= now:
        return Outcome(state="closed", form=found)
    answers, errors = check(found.questions, values)
    if errors:
        return Outcome(state="invalid", errors=errors, form=found)
    await conn.execute(
        "INSERT INTO evaluation_responses (meeting_id, answers) VALUES ($1, $2)", found.meeting_id, answers
    )
    await conn.execute(
        "UPDATE evaluation_requests SET answered = true, next_at = NULL, mail_round = NULL WHERE id = $1", request_id
    )
    # Rewrite the meeting's answers and answered ledger rows in this same transaction: all of them now carry this
    # transaction's xmin, so the row versions pair no answer with a person (see the module docstring). The answers
    # are put back in a random order, so their physical order (ctid) does not follow the order they were given in.
    await conn.execute(
        """
        WITH taken AS (DELETE FROM evaluation_responses WHERE meeting_id = $1 RETURNING id, meeting_id, answers)
        INSERT INTO evaluation_responses (id, meeting_id, answers) SELECT id, meeting_id, answers FROM taken
        ORDER BY random()
        """,
        found.meeting_id,
    )
    await conn.execute(
        "UPDATE evaluation_requests SET answered = answered WHERE meeting_id = $1 AND answered", found.meeting_id
    )
    return Outcome(state="saved", form=found)
