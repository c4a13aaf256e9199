"""Form posts into the same Structs the API takes, with the same Dutch messages at the same fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
from litestar import Request

from schemas.participants import ProfileIn
from services.errors import InvalidInput, translate_msgspec
from services.web.i18n import N_

T = TypeVar("T")
MAX_FIELD = 2000
_MESSAGES = {"name": N_("Vul je naam in"), "email": N_("Vul een geldig e-mailadres in")}


async def read(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The posted fields, trimmed; a field longer than any we take is cut (its validation then says so)."""
    form = await request.form()
    return {key: str(value).strip()[:MAX_FIELD] for key, value in form.items() if isinstance(value, str)}


def decode(values: Mapping[str, Any], into: type[T]) -> T:
    """Raises InvalidInput naming the field, in Dutch."""
    try:
        return msgspec.convert(dict(values), into)
    except msgspec.ValidationError as exc:
        error = translate_msgspec(str(exc))
        message = _MESSAGES.get(error.field, error.message)
        raise InvalidInput(message, field=error.field) from None


def profile_values(form: Mapping[str, str]) -> dict[str, Any]:
    """Profile fields of a form: empty choices are none, the consent box is on only when ticked."""
    return {
        "name": form.get("name", ""),
        "organisation_code": form.get("organisation_code") or None,
        "professional_group": form.get("professional_group") or None,
        "invitation_consent": form.get("invitation_consent") == "ja",
    }


def profile(form: Mapping[str, str]) -> ProfileIn:
    """Raises InvalidInput naming the field."""
    return decode(profile_values(form), ProfileIn)
