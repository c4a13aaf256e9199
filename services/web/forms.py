"""Form posts into the same Structs the API takes, with the same Dutch messages at the same fields."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
from litestar import Request

from schemas.participants import ProfileIn
from services.errors import FieldError, InvalidInput, translate_msgspec
from services.web.i18n import N_

T = TypeVar("T")
MAX_FIELD = 2000
# The API's limit on a page's longer fields: a meeting's description (schemas.common.LongText). A pasted list of
# addresses is not cut at all (the request's body limit bounds it; the service counts the entries).
LONG_TEXT = 20_000
_MESSAGES = {"name": N_("Vul je naam in"), "email": N_("Vul een geldig e-mailadres in")}
NAME_LENGTH = 200  # schemas.common.Name
_NAME_TOO_LONG = N_("Je naam mag hoogstens 200 tekens lang zijn")


async def read(request: Request[Any, Any, Any], longer: Mapping[str, int | None] | None = None) -> dict[str, str]:
    """The posted fields, trimmed. A field longer than any we take is cut one character past that (MAX_FIELD, or its
    own limit in `longer`; None: not cut), so its validation still says it is too long: never cut to a length that
    passes, which would keep the first part of a text, or of a pasted list, without a word."""
    form = await request.form()
    limits = longer or {}
    return {
        key: _cut(str(value).strip(), limits.get(key, MAX_FIELD))
        for key, value in form.items()
        if isinstance(value, str)
    }


def _cut(text: str, limit: int | None) -> str:
    return text if limit is None else text[: limit + 1]


def decode(values: Mapping[str, Any], into: type[T]) -> T:
    """Raises InvalidInput naming every field that is wrong, in Dutch (msgspec stops at the first; a person who
    filled in a form wants to hear about all of them at once)."""
    try:
        return msgspec.convert(dict(values), into)
    except msgspec.ValidationError as exc:
        errors = field_errors(values, into) or [translate_msgspec(str(exc))]
        errors = [FieldError(field=e.field, message=_message(e, values)) for e in errors]
        raise InvalidInput(errors[0].message, errors=errors) from None


def _message(error: FieldError, values: Mapping[str, Any]) -> str:
    """The form's own words for a wrong name or address; a name that is there but too long is told so."""
    name = values.get("name")
    if error.field == "name" and isinstance(name, str) and len(name) > NAME_LENGTH:
        return _NAME_TOO_LONG
    return _MESSAGES.get(error.field, error.message)


def field_errors(values: Mapping[str, Any], into: type[Any], prefix: str = "") -> list[FieldError]:
    """Each field of the Struct `into` checked on its own (nested Structs field by field), in declaration order."""
    if not (isinstance(into, type) and issubclass(into, msgspec.Struct)):
        return []
    found: list[FieldError] = []
    for f in msgspec.structs.fields(into):
        path = f"{prefix}{f.encode_name}"
        if f.encode_name not in values:
            if f.required:
                found.append(FieldError(field=path, message="Dit veld is verplicht"))
            continue
        value = values[f.encode_name]
        nested = _struct_in(f.type)
        if nested is not None and isinstance(value, Mapping):
            found += field_errors(value, nested, f"{path}.")
            continue
        try:
            msgspec.convert(value, f.type)
        except msgspec.ValidationError as exc:
            error = translate_msgspec(str(exc))
            inner = error.field if error.field != "body" else ""
            where = path + ("" if not inner else inner if inner.startswith("[") else f".{inner}")
            found.append(FieldError(field=where, message=error.message))
    return found


def _struct_in(kind: Any) -> type[msgspec.Struct] | None:
    """The Struct in `kind` (itself, or in an Optional), for checking a nested form group field by field."""
    candidates = typing.get_args(kind) or (kind,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, msgspec.Struct):
            return candidate
    return None


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
