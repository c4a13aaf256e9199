"""HTTP: /api/v1/meetings and /api/v1/series."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from schemas.common import Page
from schemas.meetings import CancelIn, Meeting, MeetingIn, MeetingPatch, MeetingStatus, Series, SeriesIn, SeriesPatch
from services.auth.guards import (
    CurrentPrincipal,
    OptionalPrincipal,
    provide_optional_principal,
    provide_principal,
)
from services.catalog.queries import existing_slugs
from services.db import Conn
from services.errors import InvalidInput
from services.http import CODE, NO_NUL, SLUG, CodeParam, CursorParam, LimitParam, SlugParam, TimeParam, created
from services.meetings import series, service
from services.organisations.queries import audience_code_known
from services.pagination import decode_cursor, encode_cursor

_NUMBER = re.compile(r"\s*[-+]?\d+(\.\d*)?([eE][-+]?\d+)?\s*")


class MeetingController(Controller):
    path = "/api/v1/meetings"
    tags = ("bijeenkomsten",)

    @post("/", dependencies={"principal": provide_principal})
    async def create_meeting(
        self, conn: Conn, principal: CurrentPrincipal, data: JSONBody[MeetingIn]
    ) -> Response[Meeting]:
        """Create a meeting as a draft (organiser, admin)."""
        meeting = await service.create(conn, principal, data)
        return created(meeting, f"/api/v1/meetings/{meeting.id}")

    @get("/", dependencies={"principal": provide_optional_principal})
    async def list_meetings(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        principal: OptionalPrincipal,
        theme: SlugParam = None,
        from_: Annotated[datetime | None, QueryParameter(name="from", description="RFC 3339 met offset")] = None,
        to: TimeParam = None,
        status: FromQuery[MeetingStatus | None] = None,
        organisation: CodeParam = None,
        funder: CodeParam = None,
        audience_group: Annotated[
            str | None,
            QueryParameter(
                name="audienceGroup",
                max_length=60,
                pattern=SLUG,
                description="Bijeenkomsten open voor deze beroepsgroep: voor die groep, of voor iedereen",
            ),
        ] = None,
        audience_organisation: Annotated[
            str | None,
            QueryParameter(
                name="audienceOrganisation",
                max_length=40,
                pattern=CODE,
                description="Bijeenkomsten open voor deze organisatie: voor haar, haar provincie, veiligheidsregio of "
                "regio, of voor iedereen",
            ),
        ] = None,
        series_id: Annotated[UUID | None, QueryParameter(name="seriesId")] = None,
        online: Annotated[bool | None, QueryParameter(description="true: online te volgen; false: op locatie")] = None,
        q_: Annotated[str | None, QueryParameter(name="q", max_length=100, pattern=NO_NUL)] = None,
        cursor: CursorParam = None,
        limit: LimitParam = 50,
    ) -> Page[Meeting]:
        """List meetings in start order. Anonymous callers see published ones; drafts only their organisers."""
        for name, value in (("from", from_), ("to", to)):
            # A bare number parses as a Unix time; the parameter is documented (and meant) as RFC 3339 text.
            if value is not None and _NUMBER.fullmatch(request.query_params.get(name, "")):
                raise InvalidInput("Geef een datum en tijd, bijvoorbeeld 2027-01-01T00:00:00+01:00", field=name)
            if value is not None and value.tzinfo is None:
                raise InvalidInput("Geef een tijd met offset, bijvoorbeeld 2027-01-01T00:00:00+01:00", field=name)
        # A meeting open to every group matches any group, so an unknown one (a typo) would list those as if they
        # were the group's own: say it instead.
        if audience_group is not None and not await existing_slugs(conn, "professional_groups", [audience_group]):
            raise InvalidInput(
                f"Onbekende beroepsgroep '{audience_group}'; de bekende staan op /api/v1/professional-groups",
                field="audienceGroup",
            )
        # The same for an organisation: an unknown code matched only what is open to everyone (the lookup falls back
        # to the code itself so a province or safety region code works), which read as that organisation's list.
        audience_code = audience_organisation.upper() if audience_organisation else None
        if audience_code is not None and not await audience_code_known(conn, audience_code):
            raise InvalidInput(
                f"Onbekende organisatie, provincie of veiligheidsregio '{audience_organisation}'; "
                "de bekende organisaties staan op /api/v1/organisations",
                field="audienceOrganisation",
            )
        after = decode_cursor(cursor, tuple[datetime, UUID])
        items = await service.list_visible(
            conn,
            principal,
            cursor=after,
            limit=limit + 1,
            theme=theme,
            from_=from_,
            to=to,
            status=status,
            organisation=organisation.upper() if organisation else None,
            funder=funder.upper() if funder else None,
            audience_group=audience_group,
            audience_organisation=audience_code,
            series_id=series_id,
            online=online,
            text=q_,
        )
        more = len(items) > limit
        items = items[:limit]
        last = items[-1] if items else None
        return Page(
            items=items, next_cursor=encode_cursor(last.starts_at.isoformat(), str(last.id)) if more and last else None
        )

    @get("/{meeting_id:uuid}", dependencies={"principal": provide_optional_principal})
    async def get_meeting(self, conn: Conn, principal: OptionalPrincipal, meeting_id: FromPath[UUID]) -> Meeting:
        return await service.get(conn, principal, meeting_id)

    @patch("/{meeting_id:uuid}", dependencies={"principal": provide_principal})
    async def update_meeting(
        self, conn: Conn, principal: CurrentPrincipal, meeting_id: FromPath[UUID], data: JSONBody[MeetingPatch]
    ) -> Meeting:
        """Change fields; a change of time or place raises `sequence` so calendars update."""
        return await service.update(conn, principal, meeting_id, data)

    @post("/{meeting_id:uuid}/publish", dependencies={"principal": provide_principal}, status_code=200)
    async def publish_meeting(self, conn: Conn, principal: CurrentPrincipal, meeting_id: FromPath[UUID]) -> Meeting:
        return await service.publish(conn, principal, meeting_id)

    @post("/{meeting_id:uuid}/cancel", dependencies={"principal": provide_principal}, status_code=200)
    async def cancel_meeting(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        meeting_id: FromPath[UUID],
        data: JSONBody[CancelIn | None] = None,
    ) -> Meeting:
        return await service.cancel(conn, principal, meeting_id, data.reason if data else "")


class SeriesController(Controller):
    path = "/api/v1/series"
    tags = ("bijeenkomsten",)

    @post("/", dependencies={"principal": provide_principal})
    async def create_series(self, conn: Conn, principal: CurrentPrincipal, data: JSONBody[SeriesIn]) -> Series:
        """Start a series of meetings for an organising body (organiser, admin)."""
        return await series.create(conn, principal, data)

    @get("/", dependencies={"principal": provide_principal})
    async def list_series(
        self, conn: Conn, principal: CurrentPrincipal, cursor: CursorParam = None, limit: LimitParam = 50
    ) -> Page[Series]:
        """The series of the caller's body (organiser, funder); all of them for an admin, oldest first, a page at a
        time (`next_cursor`). Not public: a series is a body's programme in the making."""
        after = decode_cursor(cursor, tuple[datetime, UUID])
        rows = await series.list_for(conn, principal, after=after, limit=limit + 1)
        items = rows[:limit]
        last = items[-1] if len(rows) > limit else None
        return Page(items=items, next_cursor=encode_cursor(last.created_at.isoformat(), str(last.id)) if last else None)

    @get("/{series_id:uuid}", dependencies={"principal": provide_principal})
    async def get_series(self, conn: Conn, principal: CurrentPrincipal, series_id: FromPath[UUID]) -> Series:
        """One series of the caller's body (another body's: 404)."""
        return await series.get(conn, principal, series_id)

    @patch("/{series_id:uuid}", dependencies={"principal": provide_principal})
    async def update_series(
        self, conn: Conn, principal: CurrentPrincipal, series_id: FromPath[UUID], data: JSONBody[SeriesPatch]
    ) -> Series:
        """Rename a series (organiser of its body, admin)."""
        return await series.update(conn, principal, series_id, data)
