"""HTTP: GET /api/v1/meetings/{id}/evaluation, the aggregated results."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get
from litestar.params import FromPath

from schemas.evaluations import EvaluationResults
from services.auth.guards import CurrentPrincipal, provide_principal, require_role
from services.db import Conn
from services.errors import Forbidden, NotFound
from services.evaluations import service


class EvaluationController(Controller):
    path = "/api/v1/meetings"
    tags = ("evaluaties",)

    @get("/{meeting_id:uuid}/evaluation", dependencies={"principal": provide_principal})
    async def results(self, conn: Conn, principal: CurrentPrincipal, meeting_id: FromPath[UUID]) -> EvaluationResults:
        """Invited, responded, response rate and, from 3 answers on, average and distribution per question and the
        open answers without names (sorted, not in the order given). Organisers of the meeting and admins; funders
        of it see the figures without the open answers."""
        require_role(principal, "admin", "organiser", "funder")
        row = await conn.fetchrow(
            "SELECT organiser_codes, funder_codes, status FROM meetings WHERE id = $1", meeting_id
        )
        if row is None or (row["status"] == "draft" and not principal.is_admin):
            raise NotFound("Deze bijeenkomst bestaat niet")
        code = principal.organisation_code
        if principal.role == "funder":
            if code not in row["funder_codes"]:
                raise NotFound("Deze bijeenkomst bestaat niet")
            return await service.results(conn, meeting_id, with_text=False)
        if not principal.is_admin and code not in row["organiser_codes"]:
            raise Forbidden("Alleen de organiserende organisaties zien de evaluatie van deze bijeenkomst")
        return await service.results(conn, meeting_id, with_text=True)
