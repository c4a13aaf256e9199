"""Questionnaire templates: an organising body's own questions, attached to a meeting or a series.

The types check what they can (schemas/evaluations.py QuestionIn: key pattern, lengths); here what needs the whole
list: unique keys, options where a choice needs them and nowhere else, scale labels only on scales, a tick box that
is never required. Errors name the field as the caller sent it (`questions[2].options`).

When a meeting's evaluation opens, its template's questions are copied into the evaluation (services/evaluations/
mailing.py _OPEN), so a template can be attached and reused freely without changing the meaning of stored answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec

from schemas.auth import Principal
from schemas.evaluations import OptionIn, QuestionIn, Questionnaire, QuestionnaireIn
from services.db import Connection, required
from services.errors import FieldError, InvalidInput, NotFound
from services.evaluations.questionnaire import DEFAULT, Question

DEFAULT_NAME = "Standaard (Leerkring)"
_CHOICE_KINDS = ("choice", "choices")


def to_question(q: QuestionIn) -> Question:
    return Question(
        key=q.key, kind=q.kind, text=q.text.strip(), required=q.required,
        options=tuple((o.value, o.label.strip()) for o in q.options), low=q.low.strip(), high=q.high.strip(),
    )  # fmt: skip


def to_question_in(q: Question) -> QuestionIn:
    return QuestionIn(
        key=q.key, kind=q.kind, text=q.text, required=q.required,
        options=[OptionIn(value=v, label=label) for v, label in q.options], low=q.low, high=q.high,
    )  # fmt: skip


def check(questions: Sequence[QuestionIn]) -> None:
    """Raises InvalidInput naming every field that cannot be used (`questions[n].…`)."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for n, q in enumerate(questions):
        at = f"questions[{n}]"
        if q.key in seen:
            errors.append(FieldError(field=f"{at}.key", message=f"De sleutel '{q.key}' komt al eerder voor"))
        seen.add(q.key)
        if not q.text.strip():
            errors.append(FieldError(field=f"{at}.text", message="Vul de vraag in"))
        if q.kind in _CHOICE_KINDS:
            values = [o.value for o in q.options]
            if len(values) < 2:
                errors.append(FieldError(field=f"{at}.options", message="Geef minstens twee mogelijkheden"))
            elif len(set(values)) != len(values):
                errors.append(FieldError(field=f"{at}.options", message="Elke mogelijkheid heeft een eigen waarde"))
        elif q.options:
            errors.append(FieldError(field=f"{at}.options", message="Alleen een keuzevraag heeft mogelijkheden"))
        if q.kind != "scale" and (q.low or q.high):
            errors.append(
                FieldError(field=f"{at}.low", message="Alleen een schaal (1-5) heeft labels aan de uiteinden")
            )
        if q.kind == "consent" and q.required:
            errors.append(FieldError(field=f"{at}.required", message="Toestemming kan niet verplicht zijn"))
    if errors:
        raise InvalidInput(f"{errors[0].field}: {errors[0].message}", errors=errors)


def _out(row: Any) -> Questionnaire:
    questions = msgspec.convert(row["questions"], tuple[Question, ...])
    return Questionnaire(
        id=row["id"],
        name=row["name"],
        organiser_code=row["organiser_code"],
        questions=[to_question_in(q) for q in questions],
        created_at=row["created_at"],
    )


def default() -> Questionnaire:
    questions = [to_question_in(q) for q in DEFAULT]
    return Questionnaire(id=None, name=DEFAULT_NAME, organiser_code=None, questions=questions)


async def create(conn: Connection, principal: Principal, data: QuestionnaireIn) -> Questionnaire:
    """Raises InvalidInput (naming the field), Forbidden (another body's code)."""
    code = data.organiser_code or principal.organisation_code
    if code is None:
        raise InvalidInput("Geef de organiserende organisatie op", field="organiser_code")
    if not principal.is_admin and code != principal.organisation_code:
        raise InvalidInput("Je kunt alleen vragenlijsten voor je eigen organisatie maken", field="organiser_code")
    if not await conn.fetchval("SELECT 1 FROM organisations WHERE code = $1 AND kind IN ('organiser','funder')", code):
        raise InvalidInput(f"Onbekende organiserende organisatie {code}", field="organiser_code")
    check(data.questions)
    row = await conn.fetchrow(
        "INSERT INTO questionnaires (organiser_code, name, questions) VALUES ($1, $2, $3) "
        "RETURNING id, organiser_code, name, questions, created_at",
        code,
        data.name.strip(),
        msgspec.to_builtins([to_question(q) for q in data.questions]),
    )
    return _out(required(row))


async def visible(conn: Connection, principal: Principal) -> list[Questionnaire]:
    """The default first, then the caller's body's templates (an admin: all), oldest first."""
    rows = await conn.fetch(
        "SELECT id, organiser_code, name, questions, created_at FROM questionnaires "
        "WHERE $1::text IS NULL OR organiser_code = $1 ORDER BY created_at, id",
        None if principal.is_admin else principal.organisation_code,
    )
    return [default(), *(_out(r) for r in rows)]


async def get(conn: Connection, principal: Principal, questionnaire_id: UUID) -> Questionnaire:
    """Raises NotFound (unknown, or another body's: not even its existence is told)."""
    row = await conn.fetchrow(
        "SELECT id, organiser_code, name, questions, created_at FROM questionnaires WHERE id = $1", questionnaire_id
    )
    if row is None or not (principal.is_admin or row["organiser_code"] == principal.organisation_code):
        raise NotFound("Deze vragenlijst bestaat niet")
    return _out(row)


async def usable_by(conn: Connection, questionnaire_id: UUID, organiser_codes: Sequence[str]) -> bool:
    """Whether a meeting or series of these bodies may use the template (it belongs to one of them)."""
    owner = await conn.fetchval("SELECT organiser_code FROM questionnaires WHERE id = $1", questionnaire_id)
    return owner is not None and owner in organiser_codes
