"""The default Dutch questionnaire, and checking a submitted form against it. Pure.

Kinds: `grade` (rapportcijfer 1-10), `scale` (1-5), `choice` (one of the options), `text` (open, at most
MAX_TEXT characters, stored as given and only ever shown escaped), `consent` (a tick box).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

QuestionKind = Literal["grade", "scale", "choice", "text", "consent"]
MAX_TEXT = 1500  # below the form reader's cut (services/web/forms.py MAX_FIELD), so too long is said


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


def check(questions: tuple[Question, ...], form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers to store and the errors per question (Dutch); store nothing when there are errors."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for q in questions:
        raw = form.get(q.key, "").strip()
        if q.kind == "consent":
            answers[q.key] = raw == "ja"
            continue
        if not raw:
            if q.required:
                errors[q.key] = "Beantwoord deze vraag"
            continue
        if q.kind in _RANGES:
            allowed = _RANGES[q.kind]
            if not raw.isdigit() or int(raw) not in allowed:
                errors[q.key] = f"Kies een getal van {allowed.start} tot en met {allowed.stop - 1}"
                continue
            answers[q.key] = int(raw)
        elif q.kind == "choice":
            if raw not in {value for value, _ in q.options}:
                errors[q.key] = "Kies een van de mogelijkheden"
                continue
            answers[q.key] = raw
        else:
            if len(raw) > MAX_TEXT:
                errors[q.key] = f"Gebruik hoogstens {MAX_TEXT} tekens (nu {len(raw)})"
                continue
            answers[q.key] = raw
    return answers, errors
