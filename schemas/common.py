"""Constrained types shared by every API body; validation lives in the types where it can."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec

# One printable line: no control characters, at least one non-space character.
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^(?=.*\S)[^\x00-\x1f\x7f]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^(?=.*\S)[^\x00-\x1f\x7f]+$")]
ShortText = Annotated[str, msgspec.Meta(max_length=300, pattern=r"^[^\x00-\x1f\x7f]*$")]
# Free text may hold newlines and tabs, but no other control characters.
LongText = Annotated[str, msgspec.Meta(max_length=20_000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
HttpUrl = Annotated[str, msgspec.Meta(max_length=2000, pattern=r"^https?://[^\s/@?#]+(/[^\s]*)?$")]
Slug = Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
OrgCode = Annotated[str, msgspec.Meta(min_length=2, max_length=40, pattern=r"^[A-Z0-9][A-Z0-9-]+$")]
Email = Annotated[
    str,
    msgspec.Meta(
        max_length=254,
        pattern=r"^[^\s@\x00-\x1f\x7f\"<>,;:]+@[^\s@\x00-\x1f\x7f\"<>,;:]+\.[^\s@\x00-\x1f\x7f\"<>,;:]+$",
    ),
]
Limit = Annotated[int, msgspec.Meta(ge=1, le=200)]

T = TypeVar("T")


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """A page of a cursor-paginated list; pass `next_cursor` back as `?cursor=` for the next page."""

    items: list[T]
    next_cursor: str | None = None
