"""Opaque cursors for keyset pagination: the client passes back what the last page returned.

A cursor is base64url JSON of the last row's sort key. Decoding checks it against the key's exact shape (a
msgspec type such as `tuple[datetime, UUID]`), so a cursor we did not hand out is a 422 naming `cursor`, never a
value PostgreSQL refuses (a string where a bigint belongs, a number past 2^63 - 1, a NUL byte in text).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, TypeVar

import msgspec

from services.errors import InvalidInput

T = TypeVar("T")

# Sort keys as they can appear in a cursor: ids are positive bigints, text holds no NUL (PostgreSQL refuses it).
RowId = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
SortText = Annotated[str, msgspec.Meta(max_length=1000, pattern="^[^\x00]*$")]

_BAD_CURSOR = "Ongeldige cursor; gebruik de next_cursor van de vorige pagina"


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(values))).decode().rstrip("=")


def decode_cursor(cursor: str | None, shape: type[T]) -> T | None:
    """The sort key in `cursor`, of type `shape`; raises InvalidInput (field `cursor`) for anything else."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=shape)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidInput(_BAD_CURSOR, field="cursor") from None
