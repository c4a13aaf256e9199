"""HTTP: GET /api/v1/meetings/{id}/evaluation (JSON) and /evaluation.csv, the aggregated results."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get
from litestar.params import FromPath

from schemas.evaluations import EvaluationResults
from services.auth.guards import CurrentPrincipal, provide_principal
from services.db import Conn
from services.evaluations import service


class EvaluationController(Controller):
    path = "/api/v1/meetings"
    tags = ("evaluaties",)

    @get("/{meeting_id:uuid}/evaluation", dependencies={"principal": provide_principal})
    async def results(self, conn: Conn, principal: CurrentPrincipal, meeting_id: FromPath[UUID]) -> EvaluationResults:
        """Invited, responded, response rate and, from 3 answers on, average and distribution per question and the
        open answers without names (sorted, not in the order given). Organisers of the meeting and admins; funders
        of it see the figures without the open answers."""
        return await service.results_for(conn, principal, meeting_id)

    @get("/{meeting_id:uuid}/evaluation.csv", dependencies={"principal": provide_principal}, media_type="text/csv")
    async def results_csv(self, conn: Conn, principal: CurrentPrincipal, meeting_id: FromPath[UUID]) -> Response[str]:
        """The same as CSV for Excel (semicolons, UTF-8 with BOM): one row per question and value, open answers
        one per row; cells that would start a formula are made plain text."""
        results = await service.results_for(conn, principal, meeting_id)
        return Response(
            service.results_csv(results),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="evaluatie-{meeting_id}.csv"'},
        )
