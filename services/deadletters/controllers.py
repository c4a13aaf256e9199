"""HTTP: /api/v1/dead-letters — work that kept failing, for administrators to inspect and re-run."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import PathParameter, QueryParameter

from schemas.common import Page
from schemas.deadletters import DeadLetter, DeadLetterStatus
from services.auth.guards import CurrentPrincipal, provide_principal, require_role
from services.db import Conn
from services.deadletters import service
from services.http import CursorParam, LimitParam
from services.pagination import RowId, decode_cursor, encode_cursor

# A bigserial id: anything past 2^63 - 1 cannot name a dead letter (and would overflow the query parameter).
DeadLetterId = Annotated[int, PathParameter(ge=1, le=2**63 - 1, description="Nummer van de mislukte taak")]
StatusParam = Annotated[DeadLetterStatus, QueryParameter(description="open (standaard), resolved of all")]


class DeadLetterController(Controller):
    path = "/api/v1/dead-letters"
    tags = ("beheer",)
    dependencies = {"principal": provide_principal}  # noqa: RUF012 - Litestar reads a class attribute

    @get("/")
    async def list_dead_letters(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        status: StatusParam = "open",
        cursor: CursorParam = None,
        limit: LimitParam = 50,
    ) -> Page[DeadLetter]:
        """Failed work, newest first (admin)."""
        require_role(principal, "admin")
        position = decode_cursor(cursor, tuple[RowId])
        items = await service.list_dead_letters(
            conn, status=status, before_id=position[0] if position else None, limit=limit + 1
        )
        more, items = len(items) > limit, items[:limit]
        return Page(items=items, next_cursor=encode_cursor(items[-1].id) if more and items else None)

    @get("/{dead_letter_id:int}")
    async def get_dead_letter(
        self, conn: Conn, principal: CurrentPrincipal, dead_letter_id: DeadLetterId
    ) -> DeadLetter:
        require_role(principal, "admin")
        return await service.get(conn, dead_letter_id)

    @post("/{dead_letter_id:int}/retry", status_code=200)
    async def retry_dead_letter(
        self, conn: Conn, principal: CurrentPrincipal, dead_letter_id: DeadLetterId
    ) -> DeadLetter:
        """Run the failed work again (admin); a worker picks it up within seconds."""
        require_role(principal, "admin")
        return await service.retry(conn, dead_letter_id)
