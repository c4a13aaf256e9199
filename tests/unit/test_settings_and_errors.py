"""Configuration loading and the Dutch translation of validation messages."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from services.errors import FieldError, translate_msgspec
from services.settings import Settings, load_settings


def test_environment_wins_over_dotenv(tmp_path: Path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("# comment\nLEERKRING_BASE_URL='https://a.example'\nLEERKRING_DB_POOL_MAX=7\n", encoding="utf-8")
    settings = load_settings({"LEERKRING_BASE_URL": "https://b.example", "LEERKRING_VAR_DIR": "/srv/x"}, dotenv)
    assert settings.base_url == "https://b.example"
    assert settings.db_pool_max == 7
    assert settings.var_dir == Path("/srv/x")
    assert settings.database_url is None, "unset means: use the embedded default"


def test_empty_values_mean_unset_and_unknown_names_are_ignored(tmp_path: Path):
    settings = load_settings({"LEERKRING_REDIS_URL": "", "LEERKRING_NONSENSE": "1", "OTHER": "x"}, None)
    assert settings == Settings()


def test_bad_values_are_refused():
    with pytest.raises(msgspec.ValidationError, match="db_pool_max"):
        load_settings({"LEERKRING_DB_POOL_MAX": "veel"}, None)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Expected `int` >= 1 - at `$.capacity`", FieldError(field="capacity", message="Moet minstens 1 zijn")),
        ("Object missing required field `title`", FieldError(field="title", message="Dit veld is verplicht")),
        (
            "Object contains unknown field `kleur` - at `$.venue`",
            FieldError(field="venue.kleur", message="Onbekend veld"),
        ),
        (
            "Expected `str` of length <= 200 - at `$.title`",
            FieldError(field="title", message="Mag hoogstens 200 tekens lang zijn"),
        ),
        (
            "Expected `int`, got `str` - at `$.capacity`",
            FieldError(field="capacity", message="Vul een geheel getal in (nu: tekst)"),
        ),
        ("Expected `str`, got `null` - at `$.title`", FieldError(field="title", message="Dit veld mag niet leeg zijn")),
        (
            "Expected `array`, got `str` - at `$.themes`",
            FieldError(field="themes", message="Vul een lijst in (nu: tekst)"),
        ),
        ("Something new", FieldError(field="body", message="Something new")),
    ],
)
def test_translate_msgspec(message: str, expected: FieldError):
    assert translate_msgspec(message) == expected
