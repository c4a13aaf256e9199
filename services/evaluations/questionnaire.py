"""The default Dutch questionnaire, and checking a submitted form against it. Pure.

Kinds: `grade` (rapportcijfer 1-10), `scale` (1-5), `choice` (one of the options), `choices` (any of them, stored
as a list), `text` (open, at most MAX_TEXT characters, stored as given and only ever shown escaped), `consent` (a
tick box). Organisers' own questionnaires are services/evaluations/templates.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from schemas.evaluations import QuestionKind

MAX_TEXT = 1500  # below the form reader's cut (services/web/forms.py MAX_FIELD), so too long is said
# Control characters other than tab and line breaks (as schemas.common.LongText): PostgreSQL's jsonb refuses NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Question(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    kind: QuestionKind
    text: str
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for choices
    low: str = ""  # the labels at both ends of a scale
    high: str = ""


DEFAULT: tuple[Question, ...] = (
    Question(key="cijfer", kind="grade", text="Welk rapportcijfer geef je deze bijeenkomst?", required=True),
    Question(
        key="bruikbaar",
        kind="scale",
        text="Hoe bruikbaar is wat je hebt opgedaan voor je dagelijkse werk?",
        required=True,
        low="helemaal niet bruikbaar",
        high="heel goed bruikbaar",
    ),
    Question(key="toepassen", kind="text", text="Wat ga je toepassen in je werk?"),
    Question(
        key="delen",
        kind="consent",
        text="Mijn antwoord op de toepassingsvraag mag geanonimiseerd gedeeld worden (voor een kennisbank).",
    ),
    Question(key="beter", kind="text", text="Wat kan er beter?"),
    Question(
        key="aanraden",
        kind="choice",
        text="Zou je deze bijeenkomst aanraden aan een collega?",
        required=True,
        options=(("ja", "Ja"), ("misschien", "Misschien"), ("nee", "Nee")),
    ),
)
QUESTIONNAIRES: dict[str, tuple[Question, ...]] = {"standaard": DEFAULT}
_RANGES = {"grade": range(1, 11), "scale": range(1, 6)}


def load(stored: Any, name: str = "standaard") -> tuple[Question, ...]:
    """The questions an evaluation was opened with (its snapshot), or else the named built-in questionnaire."""
    if stored is None:
        return QUESTIONNAIRES.get(name, DEFAULT)
    return msgspec.convert(stored, tuple[Question, ...])


def check(
    questions: tuple[Question, ...], form: Mapping[str, str | Sequence[str]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers to store and the errors per question (Dutch); store nothing when there are errors. A `choices`
    question takes every value posted under its key; every other question one (the first)."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for q in questions:
        given = form.get(q.key, "")
        posted = [given] if isinstance(given, str) else list(given)
        value, error = _choices(q, posted) if q.kind == "choices" else _one(q, posted[0].strip() if posted else "")
        if error:
            errors[q.key] = error
        elif value is not None:
            answers[q.key] = value
    return answers, errors


def _choices(q: Question, posted: list[str]) -> tuple[list[str] | None, str]:
    picked = list(dict.fromkeys(v.strip() for v in posted if v.strip()))
    if any(v not in {value for value, _ in q.options} for v in picked):
        return None, "Kies uit de mogelijkheden"
    if not picked:
        return None, "Kies er minstens een" if q.required else ""
    return picked, ""


def _one(q: Question, raw: str) -> tuple[Any, str]:
    """(the answer or None, the error or "")."""
    if q.kind == "consent":
        return raw == "ja", ""
    if not raw:
        return None, "Beantwoord deze vraag" if q.required else ""
    if q.kind in _RANGES:
        allowed = _RANGES[q.kind]
        if not raw.isdigit() or int(raw) not in allowed:
            return None, f"Kies een getal van {allowed.start} tot en met {allowed.stop - 1}"
        return int(raw), ""
    if q.kind == "choice":
        if raw not in {value for value, _ in q.options}:
            return None, "Kies een van de mogelijkheden"
        return raw, ""
    if len(raw) > MAX_TEXT:
        return None, f"Gebruik hoogstens {MAX_TEXT} tekens (nu {len(raw)})"
    if _CONTROL.search(raw):
        return None, "Gebruik alleen gewone tekst, zonder stuurtekens"
    return raw, ""
