"""HTTP: /api/v1/organisations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from litestar import Controller, Response, get, post, put
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody, QueryParameter

from schemas.common import Page
from schemas.invitations import MailQuota, MailQuotaIn
from schemas.organisations import ImportResult, Organisation, OrganisationIn
from services.auth.guards import CurrentPrincipal, provide_principal, require_organisation, require_role
from services.db import Conn
from services.http import NO_NUL, CursorParam, LimitParam, created
from services.invitations import quota
from services.organisations import queries as q
from services.organisations import service
from services.pagination import SortText, decode_cursor, encode_cursor


@dataclass
class CsvUpload:
    # A dataclass, not a bare UploadFile: Litestar then names a missing or non-file `data` as a field error, where
    # a bare UploadFile parameter raises StopIteration (a 500) when the form holds no file at all.
    data: UploadFile


class OrganisationController(Controller):
    path = "/api/v1/organisations"
    tags = ("organisaties",)

    @get("/")
    async def list_organisations(
        self,
        conn: Conn,
        kind: FromQuery[Literal["municipality", "region", "organiser", "funder"] | None] = None,
        q_: Annotated[str | None, QueryParameter(name="q", max_length=100, pattern=NO_NUL)] = None,
        cursor: CursorParam = None,
        limit: LimitParam = 50,
    ) -> Page[Organisation]:
        """List organisations, ordered by name; filter on kind or a piece of the name/code."""
        after = decode_cursor(cursor, tuple[SortText, SortText])
        items = await q.list_organisations(conn, kind=kind, query=q_, after=after, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items=items, next_cursor=encode_cursor(items[-1].name, items[-1].code) if more else None)

    @get("/{code:str}")
    async def get_organisation(self, conn: Conn, code: FromPath[str]) -> Organisation:
        return await service.get(conn, code)

    @post("/", dependencies={"principal": provide_principal})
    async def create_organisation(
        self, conn: Conn, principal: CurrentPrincipal, data: JSONBody[OrganisationIn]
    ) -> Response[Organisation]:
        """Create a regional collaboration, organising or funding body (admin)."""
        require_role(principal, "admin")
        organisation = await service.create(conn, data)
        return created(organisation, f"/api/v1/organisations/{organisation.code}")

    @post("/import", dependencies={"principal": provide_principal}, status_code=200)
    async def import_csv(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        data: Annotated[CsvUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ImportResult:
        """Bulk import from CSV (code,name,kind[,province_code,safety_region_code]); all rows or none (admin).
        Send the file as multipart form field `data`."""
        require_role(principal, "admin")
        return await service.import_csv(conn, await data.data.read())

    @get("/{code:str}/mail-quota", dependencies={"principal": provide_principal})
    async def mail_quota(self, conn: Conn, state: State, principal: CurrentPrincipal, code: FromPath[str]) -> MailQuota:
        """How many invitations this body may mail in 24 hours and how many it used (its own organisers, admins)."""
        code = code.upper()
        require_role(principal, "admin", "organiser")
        require_organisation(principal, [code], "deze organisatie")
        return await quota.standing(conn, code, state.settings.mail_quota_per_day)

    @put("/{code:str}/mail-quota", dependencies={"principal": provide_principal})
    async def set_mail_quota(
        self, conn: Conn, state: State, principal: CurrentPrincipal, code: FromPath[str], data: JSONBody[MailQuotaIn]
    ) -> MailQuota:
        """Set this body's invitations per 24 hours (admin), for instance to raise it for a national campaign."""
        require_role(principal, "admin")
        default = state.settings.mail_quota_per_day
        return await quota.set_limit(conn, code.upper(), data.daily_limit, principal.key_id, default)
