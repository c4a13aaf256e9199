"""HTTP: GET /api/v1/reports/attendance for funders (their own meetings) and admins (any funder, or all)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from schemas.reports import Report, Subscription, SubscriptionIn
from services.audit import queries as audit
from services.auth.guards import CurrentPrincipal, provide_principal
from services.db import Conn
from services.reports import formats, subscriptions
from services.reports.request import FORMATS, Params, parse
from services.reports.service import Protection, attendance_report

Text = Annotated[str | None, QueryParameter(max_length=200)]


def protection(state: State) -> Protection:
    settings = state.settings
    return Protection(k=settings.report_min_cell, noise=settings.report_noise, secret=settings.secret_key.encode())


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ("rapportages",)

    @get(
        "/attendance",
        dependencies={"principal": provide_principal},
        media_type="application/json",
        # the JSON shape; CSV and XLSX carry the same rows (?format= or Accept)
        responses={200: ResponseSpec(data_container=Report, description="Het rapport (JSON; ook CSV of XLSX)")},
    )
    async def attendance(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        state: State,
        request: Request[Any, Any, Any],
        funder: Annotated[str | None, QueryParameter(max_length=40, description="alleen beheerders")] = None,
        from_: Annotated[str | None, QueryParameter(name="from", max_length=20, description="JJJJ-MM-DD")] = None,
        to: Annotated[str | None, QueryParameter(max_length=20, description="JJJJ-MM-DD, tot en met")] = None,
        year: Annotated[str | None, QueryParameter(max_length=4)] = None,
        quarter: Annotated[str | None, QueryParameter(max_length=1)] = None,
        group_by: Annotated[
            str | None, QueryParameter(name="groupBy", max_length=100, description="een of twee, kommagescheiden")
        ] = None,
        municipality_as_of: Annotated[
            str | None, QueryParameter(name="municipalityAsOf", max_length=10, description="meeting of today")
        ] = None,
        format_: Annotated[str | None, QueryParameter(name="format", max_length=10)] = None,
    ) -> Response[bytes]:
        """Attendance and reach of the meetings a funder funds, grouped by one or two dimensions; JSON, CSV or
        XLSX. Cells with fewer than k people show "<k"; see the README on disclosure control."""
        params = Params(
            funder=funder, from_=from_, to=to, year=year, quarter=quarter, group_by=group_by,
            municipality_as_of=municipality_as_of, format=format_,
        )  # fmt: skip
        req = parse(principal, params, request.headers.get("accept"), datetime.now(UTC).date())
        report = await attendance_report(conn, req, protection(state))
        await audit.record(
            conn, "report.exported", "export", None,
            {"report": "attendance", "funder": req.funder, "from": req.first.isoformat(), "to": req.last.isoformat(),
             "group_by": list(req.group_by), "format": req.format},
        )  # fmt: skip
        body = formats.render(report, req.format)
        headers = {"Vary": "Accept"}
        if req.format != "json":
            name = f"leerkring-aanwezigheid-{req.first.isoformat()}-{req.last.isoformat()}.{req.format}"
            headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return Response(body, media_type=FORMATS[req.format], headers=headers)

    @post("/subscriptions", dependencies={"principal": provide_principal}, status_code=201)
    async def subscribe(self, conn: Conn, principal: CurrentPrincipal, data: JSONBody[SubscriptionIn]) -> Subscription:
        """Mail this report as a workbook after every month or quarter, once per period."""
        return await subscriptions.create(conn, principal, data)

    @get("/subscriptions", dependencies={"principal": provide_principal})
    async def list_subscriptions(self, conn: Conn, principal: CurrentPrincipal) -> list[Subscription]:
        return await subscriptions.list_for(conn, principal)

    @delete("/subscriptions/{subscription_id:uuid}", dependencies={"principal": provide_principal}, status_code=200)
    async def unsubscribe(
        self, conn: Conn, principal: CurrentPrincipal, subscription_id: FromPath[UUID]
    ) -> Subscription:
        return await subscriptions.cancel(conn, principal, subscription_id)
