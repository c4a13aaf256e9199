"""HTTP: GET /api/v1/audit for admins, newest first, paged with ?before=<id>."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import QueryParameter

from schemas.audit import AuditEntry
from schemas.common import Page
from services.audit import queries as q
from services.auth.guards import CurrentPrincipal, provide_principal, require_role
from services.db import Conn
from services.http import LimitParam


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ("beheer",)

    @get("/", dependencies={"principal": provide_principal})
    async def list_audit(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        before: Annotated[int | None, QueryParameter(ge=1, description="next_cursor van de vorige pagina")] = None,
        object_id: Annotated[str | None, QueryParameter(name="objectId", max_length=100)] = None,
        meeting_id: Annotated[UUID | None, QueryParameter(name="meetingId")] = None,
        key_id: Annotated[UUID | None, QueryParameter(name="keyId")] = None,
        action: Annotated[str | None, QueryParameter(max_length=60)] = None,
        limit: LimitParam = 50,
    ) -> Page[AuditEntry]:
        """Who did what: every event with its actor, key changes, exports and report subscriptions (admins)."""
        require_role(principal, "admin")
        items = await q.entries(
            conn, before=before, limit=limit + 1, object_id=object_id, meeting_id=meeting_id, key_id=key_id,
            action=action,
        )  # fmt: skip
        more = len(items) > limit
        items = items[:limit]
        return Page(items=items, next_cursor=str(items[-1].id) if more and items else None)
