"""HTTP: GET /api/v1/meetings/{id}/evaluation (JSON) and /evaluation.csv, the aggregated results; the questionnaire
templates (/api/v1/questionnaires)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody

from schemas.auth import Principal
from schemas.evaluations import EvaluationResults, Questionnaire, QuestionnaireIn
from services.auth.guards import CurrentPrincipal, provide_principal, require_role
from services.db import Conn, Connection
from services.errors import Forbidden, NotFound
from services.evaluations import service, templates


class EvaluationController(Controller):
    path = "/api/v1/meetings"
    tags = ("evaluaties",)

    @get("/{meeting_id:uuid}/evaluation", dependencies={"principal": provide_principal})
    async def results(self, conn: Conn, principal: CurrentPrincipal, meeting_id: FromPath[UUID]) -> EvaluationResults:
        """Invited, responded, response rate and, from 3 answers on, average and distribution per question and the
        open answers without names (sorted, not in the order given). Organisers of the meeting and admins; funders
        of it see the figures without the open answers."""
        return await _results(conn, principal, meeting_id)

    @get("/{meeting_id:uuid}/evaluation.csv", dependencies={"principal": provide_principal}, media_type="text/csv")
    async def results_csv(self, conn: Conn, principal: CurrentPrincipal, meeting_id: FromPath[UUID]) -> Response[str]:
        """The same as CSV for Excel (semicolons, UTF-8 with BOM): one row per question and value, open answers
        one per row; cells that would start a formula are made plain text."""
        results = await _results(conn, principal, meeting_id)
        return Response(
            service.results_csv(results),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="evaluatie-{meeting_id}.csv"'},
        )


async def _results(conn: Connection, principal: Principal, meeting_id: UUID) -> EvaluationResults:
    """Raises NotFound (unknown, someone's draft, not funded by this funder), Forbidden (another organiser's)."""
    require_role(principal, "admin", "organiser", "funder")
    row = await conn.fetchrow("SELECT organiser_codes, funder_codes, status FROM meetings WHERE id = $1", meeting_id)
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


class QuestionnaireController(Controller):
    path = "/api/v1/questionnaires"
    tags = ("evaluaties",)
    dependencies = {"principal": provide_principal}  # noqa: RUF012

    @post("/", status_code=201)
    async def create(self, conn: Conn, principal: CurrentPrincipal, data: JSONBody[QuestionnaireIn]) -> Questionnaire:
        """A questionnaire template for the caller's body (organiser, admin): questions of the kinds `grade` (1-10),
        `scale` (1-5), `choice`, `choices` (multiple), `text`, `consent`; attach it with `questionnaire_id` on a
        meeting or series. 422 names the field (`questions[2].options`)."""
        require_role(principal, "admin", "organiser")
        return await templates.create(conn, principal, data)

    @get("/")
    async def list_questionnaires(self, conn: Conn, principal: CurrentPrincipal) -> list[Questionnaire]:
        """The built-in default (id null) and the caller's body's templates."""
        require_role(principal, "admin", "organiser")
        return await templates.visible(conn, principal)

    @get("/standaard")
    async def default(self, principal: CurrentPrincipal) -> Questionnaire:
        """The Dutch default every meeting without a template of its own (or its series') is evaluated with."""
        require_role(principal, "admin", "organiser", "funder")
        return templates.default()

    @get("/{questionnaire_id:uuid}")
    async def get_questionnaire(
        self, conn: Conn, principal: CurrentPrincipal, questionnaire_id: FromPath[UUID]
    ) -> Questionnaire:
        require_role(principal, "admin", "organiser")
        return await templates.get(conn, principal, questionnaire_id)
