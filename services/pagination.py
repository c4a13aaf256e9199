"""Opaque cursors for keyset pagination: the client passes back what the last page returned."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

from services.errors import InvalidInput


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(values))).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    """Decode a cursor; raises InvalidInput (field `cursor`) for anything we did not hand out."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = msgspec.json.decode(raw, type=list[Any])
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidInput("Ongeldige cursor; gebruik de next_cursor van de vorige pagina", field="cursor") from None
    if len(values) != arity:
        raise InvalidInput("Ongeldige cursor; gebruik de next_cursor van de vorige pagina", field="cursor")
    return values
