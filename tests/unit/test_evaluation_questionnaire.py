"""The default questionnaire's checks: every answer valid or nothing stored. Pure."""

from __future__ import annotations

import pytest

from schemas.evaluations import EvaluationSettings
from services.errors import InvalidInput
from services.evaluations.questionnaire import DEFAULT, MAX_TEXT, check
from services.evaluations.service import check_settings

GOOD = {"cijfer": "8", "bruikbaar": "4", "aanraden": "misschien"}


def test_a_complete_form_gives_typed_answers() -> None:
    answers, errors = check(DEFAULT, {**GOOD, "toepassen": "  Doorvragen  ", "delen": "ja"})
    assert errors == {}
    assert answers == {"cijfer": 8, "bruikbaar": 4, "aanraden": "misschien", "toepassen": "Doorvragen", "delen": True}


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"cijfer": ""}, "cijfer", "Beantwoord deze vraag"),
        ({"cijfer": "0"}, "cijfer", "Kies een getal van 1 tot en met 10"),
        ({"cijfer": "7.5"}, "cijfer", "Kies een getal van 1 tot en met 10"),
        ({"bruikbaar": "6"}, "bruikbaar", "Kies een getal van 1 tot en met 5"),
        ({"aanraden": "altijd"}, "aanraden", "Kies een van de mogelijkheden"),
        ({"beter": "x" * (MAX_TEXT + 1)}, "beter", f"Gebruik hoogstens {MAX_TEXT} tekens (nu {MAX_TEXT + 1})"),
    ],
)
def test_each_bad_answer_is_named(change: dict[str, str], key: str, message: str) -> None:
    _, errors = check(DEFAULT, {**GOOD, **change})
    assert errors == {key: message}


def test_hostile_text_is_kept_as_data() -> None:
    text = '=cmd|"/c calc"!A1 <script>alert(1)</script>'
    answers, errors = check(DEFAULT, {**GOOD, "beter": text})
    assert (errors, answers["beter"]) == ({}, text)


def test_settings_bounds() -> None:
    check_settings(EvaluationSettings())
    check_settings(EvaluationSettings(nudges=2, nudge_after="P3D", closes_after="P14D"))
    for bad, field in (
        (EvaluationSettings(closes_after="P100D"), "evaluation.closes_after"),
        (EvaluationSettings(nudges=2, nudge_after="P7D", closes_after="P14D"), "evaluation.nudge_after"),
        (EvaluationSettings(nudge_after="PT10M"), "evaluation.nudge_after"),
        (EvaluationSettings(send_after="P31D"), "evaluation.send_after"),
    ):
        with pytest.raises(InvalidInput) as raised:
            check_settings(bad)
        assert raised.value.errors[0].field == field
