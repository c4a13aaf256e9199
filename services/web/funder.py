"""/financier: the funder's dashboard of their report, and its downloads.

The figures are the API's report (`reports.service.attendance_report`, as GET /api/v1/reports/attendance): the same
disclosure control ("<5", hidden cells, noise), the same audit record per export. Charts are SVG from the server
(services/web/charts.py), each with its table. Signed in with the funder's API key, like an organiser
(services/web/organiser_session.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.params import QueryParameter
from litestar.response import Template
from markupsafe import Markup

from schemas.auth import Principal
from schemas.reports import Report
from services.audit import queries as audit
from services.db import Conn, Connection
from services.errors import DomainError, InvalidInput
from services.organisations import queries as organisations
from services.reports import formats
from services.reports.controllers import protection
from services.reports.request import FORMATS, Params, parse
from services.reports.service import attendance_report
from services.web import charts, maps
from services.web.i18n import N_
from services.web.i18n import gettext as _
from services.web.organiser import _HANDLERS, HOME, signed_in
from services.web.render import HEADERS, message, page, summary

Year = Annotated[str | None, QueryParameter(name="jaar", max_length=40)]
# The dashboard's parts: (grouping, title of the chart, the measure drawn)
PARTS = (
    ("month", N_("Bereik per maand"), "attended"),
    ("professional_group", N_("Aanwezig per beroepsgroep"), "attended"),
    ("theme", N_("Aanwezig per thema"), "attended"),
    ("province", N_("Gemeenten bereikt per provincie"), "municipalities_reached"),
)
DOWNLOADS = ("month", "professional_group", "theme", "province", "municipality", "meeting")


class _FunderNotSignedIn(DomainError):
    status = 401
    slug = "niet-aangemeld"
    title = N_("Log in als financier")

    def __init__(self) -> None:
        super().__init__(N_("Log in met de API-sleutel van je fonds om de rapportage te zien."))


def _on_signed_out(request: Request[Any, Any, Any], exc: _FunderNotSignedIn) -> Template:
    return message(_(exc.title), _(exc.detail), status=401, links=[(_("Inloggen met je sleutel"), f"{HOME}/inloggen")])


_FUNDER_HANDLERS: dict[type[Exception], Any] = {**_HANDLERS, _FunderNotSignedIn: _on_signed_out}


async def _funder(conn: Connection, state: State, request: Request[Any, Any, Any]) -> Principal:
    """Raises _FunderNotSignedIn, WrongRole (an organiser's session)."""
    return await signed_in(conn, state, request, ("funder", "admin"), _FunderNotSignedIn())


async def _name(conn: Connection, code: str | None) -> str:
    """The funder's name for the heading; its code only if the organisation is not found."""
    if not code:
        return ""
    found = await organisations.get_organisation(conn, code)
    return found.name if found else code


async def _report(conn: Connection, state: State, principal: Principal, year: str, group_by: str, fmt: str) -> Report:
    req = parse(principal, Params(year=year, group_by=group_by, format=fmt), None, datetime.now(UTC).date())
    return await attendance_report(conn, req, protection(state))


def _label(row: Any, dimension: str) -> str:
    return str(row.labels.get(dimension) or row.dimensions.get(dimension) or _("onbekend"))


def _province_map(report: Report) -> Markup:
    figures = {
        code: (_label(r, "province"), r.municipalities_reached, r.municipalities_total)
        for r in report.rows
        if (code := r.dimensions.get("province"))
    }
    return maps.provinces("kaart-provincie", _("Kaart: gemeenten bereikt per provincie"), figures)


class FunderController(Controller):
    path = "/financier"
    include_in_schema = False
    exception_handlers = _FUNDER_HANDLERS  # type: ignore[assignment]

    @get("/")
    async def dashboard(self, conn: Conn, state: State, request: Request[Any, Any, Any], jaar: Year = None) -> Template:
        principal = await _funder(conn, state, request)
        this_year = str(datetime.now(UTC).year)
        year, errors = (jaar or this_year), {}
        try:
            parse(principal, Params(year=year, group_by="month", format="json"), None, datetime.now(UTC).date())
        except InvalidInput:
            # The dashboard for this year, and the year field saying what it takes (not a bare error page).
            errors = {
                "jaar": _("Vul een jaar in van 2000 tot en met 2100, bijvoorbeeld %(year)s") % {"year": this_year}
            }
            year = this_year
        sections = []
        total = None
        for dimension, title, measure in PARTS:
            report = await _report(conn, state, principal, year, dimension, "json")
            total = report.total
            rows = [(_label(r, dimension), getattr(r, measure)) for r in report.rows]
            sections.append(
                {
                    "id": f"grafiek-{dimension}",
                    "title": _(title),
                    "dimension": dimension,
                    "chart": charts.bars(f"grafiek-{dimension}", _(title), rows),
                    "map": _province_map(report) if dimension == "province" else None,
                    "rows": report.rows,
                    "measure": measure,
                }
            )
        return page(
            "funder.html", title=_("Rapportage"), organiser=False, staff=True,
            funder=await _name(conn, principal.organisation_code), year=year, total=total,
            k=state.settings.report_min_cell, sections=sections, downloads=DOWNLOADS, map_credit=maps.CREDIT,
            errors=errors, error_list=summary(errors), status=422 if errors else 200, asked=jaar or "",
        )  # fmt: skip

    @get("/rapport")
    async def download(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], jaar: Year = None,
        indeling: Annotated[str | None, QueryParameter(max_length=40)] = None,
        formaat: Annotated[str | None, QueryParameter(max_length=10)] = None,
    ) -> Response[bytes]:  # fmt: skip
        """The report as CSV or XLSX (the API's own rendering), recorded in the audit log as the API records it."""
        principal = await _funder(conn, state, request)
        fmt = formaat if formaat in ("csv", "xlsx") else "xlsx"
        req = parse(
            principal, Params(year=jaar, group_by=indeling or "month", format=fmt), None, datetime.now(UTC).date()
        )
        report = await attendance_report(conn, req, protection(state))
        await audit.record(
            conn, "report.exported", "export", None,
            {"report": "attendance", "funder": req.funder, "from": req.first.isoformat(), "to": req.last.isoformat(),
             "group_by": list(req.group_by), "format": req.format},
        )  # fmt: skip
        # The grouping in the name: downloading per month and then per municipality gives two files, not a "(1)".
        grouping = "-".join(req.group_by) or "totaal"
        name = f"leerkring-aanwezigheid-{grouping}-{req.first.isoformat()}-{req.last.isoformat()}.{req.format}"
        headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
        return Response(formats.render(report, req.format), media_type=FORMATS[req.format], headers=headers)
