"""Parameter types shared by controllers, declared the explicit way Litestar 3 requires."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeAlias, TypeVar

from litestar import Response
from litestar.params import QueryParameter

T = TypeVar("T")

LimitParam: TypeAlias = Annotated[int, QueryParameter(ge=1, le=200, description="Hoeveel items per pagina")]
CursorParam: TypeAlias = Annotated[
    str | None, QueryParameter(max_length=500, description="`next_cursor` van de vorige pagina")
]
CODE = r"^[A-Za-z0-9-]+$"  # an organisation's code: GM0518, VNG
SLUG = r"^[a-z0-9-]+$"  # a theme's or professional group's slug: wmo-consulent
CodeParam: TypeAlias = Annotated[str | None, QueryParameter(max_length=40, pattern=CODE)]
SlugParam: TypeAlias = Annotated[str | None, QueryParameter(max_length=60, pattern=SLUG)]
# Free text to search for; PostgreSQL text cannot hold a NUL byte, so one is a field error rather than a 500.
NO_NUL = r"^[^\x00]*$"
TextParam: TypeAlias = Annotated[str | None, QueryParameter(max_length=100, pattern=NO_NUL)]
TimeParam: TypeAlias = Annotated[datetime | None, QueryParameter(description="RFC 3339 met offset")]


def created(item: T, location: str) -> Response[T]:
    """201 Created with `Location`: where the new resource can be read."""
    return Response(item, status_code=201, headers={"Location": location})
