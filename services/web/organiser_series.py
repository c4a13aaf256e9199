"""Series on the organiser's pages, through the API's own service (services/meetings/series.py).

/organisator/reeksen                  the body's series with how many meetings each has; POST starts one
/organisator/reeksen/{id}             the series and its meetings, a new meeting in it, rename (POST .../bewerken)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from schemas.auth import Principal
from schemas.meetings import SeriesIn, SeriesPatch
from services.dates import format_when
from services.db import Conn, Connection
from services.errors import InvalidInput
from services.meetings import series
from services.meetings import service as meetings
from services.web import forms
from services.web.i18n import N_, locale
from services.web.i18n import gettext as _
from services.web.organiser import _HANDLERS, HOME, _organiser
from services.web.render import HEADERS, page, summary

SERIES = f"{HOME}/reeksen"
DONE = {"gestart": N_("De reeks is aangemaakt."), "opgeslagen": N_("Opgeslagen.")}
DoneParam = Annotated[str | None, QueryParameter(name="gedaan", max_length=20)]


def _title_error(exc: InvalidInput) -> dict[str, str]:
    """The service's message at the form's only field; for the title itself, in the form's words."""
    field = exc.errors[0].field if exc.errors else ""
    return {"title": _("Geef de reeks een titel van ten hoogste 200 tekens") if field == "title" else _(exc.detail)}


async def _meetings_of(conn: Connection, principal: Principal, series_id: UUID) -> list[dict[str, Any]]:
    found = await meetings.list_visible(
        conn, principal, cursor=None, limit=200, audience_organisation=None, theme=None, from_=None, to=None,
        status=None, organisation=None, funder=None, audience_group=None, series_id=series_id,
    )  # fmt: skip
    return [{"meeting": m, "when": format_when(m.starts_at, m.ends_at, m.timezone, locale())} for m in found]


async def _list_page(
    conn: Connection, principal: Principal, *, title: str = "", errors: dict[str, str] | None = None
) -> Template:
    own = await series.list_for(conn, principal, after=None, limit=500)
    rows = await conn.fetch(
        "SELECT series_id, count(*) AS n FROM meetings WHERE series_id = ANY($1::uuid[]) GROUP BY series_id",
        [s.id for s in own],
    )
    counts: dict[UUID, int] = {r["series_id"]: r["n"] for r in rows}
    return page(
        "organiser_series_list.html", status=422 if errors else 200, title=_("Reeksen"), organiser=True,
        rows=[{"series": s, "meetings": counts.get(s.id, 0)} for s in own], values={"title": title},
        errors=errors or {}, error_list=summary(errors or {}),
    )  # fmt: skip


async def _series_page(
    conn: Connection, principal: Principal, series_id: UUID, *, notice: str = "", title: str | None = None,
    errors: dict[str, str] | None = None,
) -> Template:  # fmt: skip
    found = await series.get(conn, principal, series_id)
    now = datetime.now(UTC)
    rows = sorted(await _meetings_of(conn, principal, series_id), key=lambda r: r["meeting"].starts_at)
    return page(
        "organiser_series.html", status=422 if errors else 200, title=found.title, organiser=True, series=found,
        rows=rows, upcoming=sum(1 for r in rows if r["meeting"].ends_at >= now and r["meeting"].status != "cancelled"),
        notice=notice,
        values={"title": found.title if title is None else title}, errors=errors or {},
        error_list=summary(errors or {}), back_path=f"{SERIES}/{series_id}",
    )  # fmt: skip


class OrganiserSeriesController(Controller):
    path = SERIES
    include_in_schema = False
    exception_handlers = _HANDLERS  # type: ignore[assignment]

    @get("/")
    async def index(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Template:
        return await _list_page(conn, await _organiser(conn, state, request))

    @post("/", status_code=303)
    async def start(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Response[Any]:
        principal = await _organiser(conn, state, request)
        title = (await forms.read(request)).get("title", "")
        try:
            async with conn.transaction():
                created = await series.create(conn, principal, forms.decode({"title": title}, SeriesIn))
        except InvalidInput as exc:
            return await _list_page(conn, principal, title=title, errors=_title_error(exc))
        return Redirect(f"{SERIES}/{created.id}?gedaan=gestart", status_code=303, headers=HEADERS)

    @get("/{series_id:uuid}")
    async def show(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], series_id: FromPath[UUID],
        gedaan: DoneParam = None,
    ) -> Template:  # fmt: skip
        principal = await _organiser(conn, state, request)
        notice = _(DONE[gedaan]) if gedaan in DONE else ""
        return await _series_page(conn, principal, series_id, notice=notice)

    @get("/{series_id:uuid}/bewerken")
    async def after_post(self, series_id: FromPath[UUID]) -> Redirect:
        """A rename with errors is shown at its POST address; opened again, back to the series, not 405."""
        return Redirect(f"{SERIES}/{series_id}", status_code=303, headers=HEADERS)

    @post("/{series_id:uuid}/bewerken", status_code=303)
    async def rename(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], series_id: FromPath[UUID]
    ) -> Response[Any]:
        principal = await _organiser(conn, state, request)
        title = (await forms.read(request)).get("title", "")
        try:
            async with conn.transaction():
                await series.update(conn, principal, series_id, forms.decode({"title": title}, SeriesPatch))
        except InvalidInput as exc:
            return await _series_page(conn, principal, series_id, title=title, errors=_title_error(exc))
        return Redirect(f"{SERIES}/{series_id}?gedaan=opgeslagen", status_code=303, headers=HEADERS)
