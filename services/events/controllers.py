"""HTTP: GET /api/v1/events — the domain event log, for integrations that catch up by cursor."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import QueryParameter

from schemas.common import Page
from schemas.events import EVENT_TYPES, Event
from services.auth.guards import CurrentPrincipal, provide_principal, require_role
from services.db import Conn
from services.errors import InvalidInput
from services.events.queries import list_events
from services.http import CursorParam, LimitParam
from services.pagination import RowId, decode_cursor, encode_cursor

TypeParam = Annotated[str | None, QueryParameter(max_length=60, description="alleen dit gebeurtenistype")]
AggregateParam = Annotated[
    UUID | None, QueryParameter(name="aggregateId", description="alleen gebeurtenissen van dit object")
]


class EventController(Controller):
    path = "/api/v1/events"
    tags = ("gebeurtenissen",)

    @get("/", dependencies={"principal": provide_principal})
    async def list_events(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        type: TypeParam = None,
        aggregate_id: AggregateParam = None,
        cursor: CursorParam = None,
        limit: LimitParam = 100,
    ) -> Page[Event]:
        """Events in commit order. Administrators see all; organisers those about meetings they organise.

        Page until a page comes back empty (its `next_cursor` is null). To catch up later, keep the last
        non-null `next_cursor` and pass it again: only events committed since then follow.
        """
        require_role(principal, "admin", "organiser")
        if type is not None and type not in EVENT_TYPES:
            raise InvalidInput(f"Onbekend gebeurtenistype '{type}'", field="type")
        after = decode_cursor(cursor, tuple[RowId, RowId]) or (0, 0)
        events, last = await list_events(
            conn,
            after=after,
            event_type=type,
            aggregate_id=aggregate_id,
            organisation_code=None if principal.is_admin else principal.organisation_code,
            limit=limit,
        )
        # Unlike lists that end, the log grows: a partial page still says where to resume.
        return Page(items=events, next_cursor=encode_cursor(*last) if last else None)
