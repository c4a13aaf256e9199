"""HTTP: the evaluation results of a meeting, a series and a theme (JSON, .csv, .xlsx) and the questionnaire
templates (/api/v1/questionnaires)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody

from schemas.auth import Principal
from schemas.evaluations import EvaluationAggregate, EvaluationResults, Questionnaire, QuestionnaireIn
from services.auth.guards import CurrentPrincipal, provide_principal, require_role
from services.db import Conn, Connection
from services.errors import NotFound
from services.evaluations import results, templates

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(body: str | bytes, media_type: str, filename: str) -> Response[str | bytes]:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


class EvaluationController(Controller):
    path = "/api/v1/meetings"
    tags = ("evaluaties",)
    dependencies = {"principal": provide_principal}  # noqa: RUF012

    @get("/{meeting_id:uuid}/evaluation")
    async def results(self, conn: Conn, principal: CurrentPrincipal, meeting_id: FromPath[UUID]) -> EvaluationResults:
        """Invited, responded, response rate and, from 3 answers on, average and distribution per question and the
        open answers without names (sorted, not in the order given). Organisers of the meeting and admins; funders
        of it see the figures without the open answers."""
        return await results.results_for(conn, principal, meeting_id)

    @get("/{meeting_id:uuid}/evaluation.csv", media_type="text/csv")
    async def results_csv(
        self, conn: Conn, principal: CurrentPrincipal, meeting_id: FromPath[UUID]
    ) -> Response[str | bytes]:
        """The same as CSV for Excel (semicolons, UTF-8 with BOM): one row per question and value, open answers
        one per row; cells that would start a formula are made plain text."""
        found = await results.results_for(conn, principal, meeting_id)
        return _download(results.results_csv(found), "text/csv", f"evaluatie-{meeting_id}.csv")

    @get("/{meeting_id:uuid}/evaluation.xlsx", media_type=XLSX)
    async def results_xlsx(
        self, conn: Conn, principal: CurrentPrincipal, meeting_id: FromPath[UUID]
    ) -> Response[str | bytes]:
        """The same as an XLSX workbook: figures (typed), open answers, and an explanation sheet."""
        found = await results.results_for(conn, principal, meeting_id)
        title = await conn.fetchval("SELECT title FROM meetings WHERE id = $1", meeting_id)
        return _download(results.results_xlsx(found, f"Evaluatie: {title}"), XLSX, f"evaluatie-{meeting_id}.xlsx")


# The meetings of a scope the caller may see results of: an organiser its body's, a funder those it funds, an admin
# all; never drafts.
_IN_SCOPE = """
SELECT id FROM meetings
WHERE status <> 'draft' AND {where}
  AND ($1::text IS NULL OR ($2 AND $1 = ANY(funder_codes)) OR (NOT $2 AND $1 = ANY(organiser_codes)))
"""


async def _aggregate(
    conn: Connection, principal: Principal, scope: str, key: str, title: str, where: str, value: object
) -> EvaluationAggregate:
    require_role(principal, "admin", "organiser", "funder")
    code = None if principal.is_admin else principal.organisation_code
    funder = principal.role == "funder"
    ids = [r["id"] for r in await conn.fetch(_IN_SCOPE.format(where=where), code, funder, value)]
    return await results.aggregate(conn, scope, key, title, ids, with_text=not funder)


async def _series(conn: Connection, principal: Principal, series_id: UUID) -> EvaluationAggregate:
    """Raises NotFound (unknown, or another organising body's series)."""
    row = await conn.fetchrow("SELECT title, organiser_code FROM series WHERE id = $1", series_id)
    if row is None or (principal.role == "organiser" and row["organiser_code"] != principal.organisation_code):
        raise NotFound("Deze reeks bestaat niet")
    return await _aggregate(conn, principal, "series", str(series_id), row["title"], "series_id = $3", series_id)


async def _theme(conn: Connection, principal: Principal, slug: str) -> EvaluationAggregate:
    """Raises NotFound (unknown theme)."""
    name = await conn.fetchval("SELECT name FROM themes WHERE slug = $1", slug)
    if name is None:
        raise NotFound("Dit thema bestaat niet")
    return await _aggregate(conn, principal, "theme", slug, name, "$3 = ANY(themes)", slug)


class SeriesEvaluationController(Controller):
    path = "/api/v1/series"
    tags = ("evaluaties",)
    dependencies = {"principal": provide_principal}  # noqa: RUF012

    @get("/{series_id:uuid}/evaluation")
    async def series_results(
        self, conn: Conn, principal: CurrentPrincipal, series_id: FromPath[UUID]
    ) -> EvaluationAggregate:
        """The results over the series' meetings; per question only from meetings with at least 3 answers. The
        series' organiser and admins (with open answers), funders over the meetings they fund (figures only)."""
        return await _series(conn, principal, series_id)

    @get("/{series_id:uuid}/evaluation.csv", media_type="text/csv")
    async def series_csv(
        self, conn: Conn, principal: CurrentPrincipal, series_id: FromPath[UUID]
    ) -> Response[str | bytes]:
        found = await _series(conn, principal, series_id)
        return _download(results.results_csv(found), "text/csv", f"evaluatie-reeks-{series_id}.csv")

    @get("/{series_id:uuid}/evaluation.xlsx", media_type=XLSX)
    async def series_xlsx(
        self, conn: Conn, principal: CurrentPrincipal, series_id: FromPath[UUID]
    ) -> Response[str | bytes]:
        found = await _series(conn, principal, series_id)
        body = results.results_xlsx(found, f"Evaluatie van de reeks: {found.title}")
        return _download(body, XLSX, f"evaluatie-reeks-{series_id}.xlsx")


class ThemeEvaluationController(Controller):
    path = "/api/v1/themes"
    tags = ("evaluaties",)
    dependencies = {"principal": provide_principal}  # noqa: RUF012

    @get("/{slug:str}/evaluation")
    async def theme_results(self, conn: Conn, principal: CurrentPrincipal, slug: FromPath[str]) -> EvaluationAggregate:
        """The results over the meetings on this theme the caller may see (an organiser its body's, a funder those
        it funds); per question only from meetings with at least 3 answers."""
        return await _theme(conn, principal, slug)

    @get("/{slug:str}/evaluation.csv", media_type="text/csv")
    async def theme_csv(self, conn: Conn, principal: CurrentPrincipal, slug: FromPath[str]) -> Response[str | bytes]:
        found = await _theme(conn, principal, slug)
        return _download(results.results_csv(found), "text/csv", f"evaluatie-thema-{slug}.csv")

    @get("/{slug:str}/evaluation.xlsx", media_type=XLSX)
    async def theme_xlsx(self, conn: Conn, principal: CurrentPrincipal, slug: FromPath[str]) -> Response[str | bytes]:
        found = await _theme(conn, principal, slug)
        return _download(results.results_xlsx(found, f"Evaluatie van het thema: {found.title}"), XLSX,
                         f"evaluatie-thema-{slug}.xlsx")  # fmt: skip


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
