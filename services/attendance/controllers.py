"""HTTP: /api/v1/meetings/{id}/attendance, self check-in, the check-in code and its QR image."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from schemas.common import Page
from schemas.registrations import Attendance, AttendanceIn, AttendanceListItem, CheckinInfo, Released, SelfCheckinIn
from services import ratelimit
from services.attendance import checkin, service
from services.attendance import queries as q
from services.auth.guards import CurrentPrincipal, provide_principal
from services.db import Conn
from services.http import CursorParam, LimitParam
from services.pagination import SortText, decode_cursor, encode_cursor
from services.participants.auth import CurrentCaller, provide_caller
from services.registrations.service import staff_meeting

_STAFF = {"principal": provide_principal}


class AttendanceController(Controller):
    path = "/api/v1/meetings"
    tags = ("aanwezigheid",)

    @get("/{meeting_id:uuid}/checkin", dependencies=_STAFF)
    async def checkin_info(
        self, conn: Conn, principal: CurrentPrincipal, state: State, meeting_id: FromPath[UUID]
    ) -> CheckinInfo:
        """The check-in code to show at the venue, the URL in its QR code and when self check-in works."""
        return await service.checkin_info(conn, principal, meeting_id, state.settings.base_url)

    @get("/{meeting_id:uuid}/checkin-qr.svg", dependencies=_STAFF, media_type="image/svg+xml")
    async def checkin_qr_svg(
        self, conn: Conn, principal: CurrentPrincipal, state: State, meeting_id: FromPath[UUID]
    ) -> Response[bytes]:
        info = await service.checkin_info(conn, principal, meeting_id, state.settings.base_url)
        return Response(checkin.qr(info.url, "svg"), media_type="image/svg+xml")

    @get("/{meeting_id:uuid}/checkin-qr.png", dependencies=_STAFF, media_type="image/png")
    async def checkin_qr_png(
        self, conn: Conn, principal: CurrentPrincipal, state: State, meeting_id: FromPath[UUID]
    ) -> Response[bytes]:
        info = await service.checkin_info(conn, principal, meeting_id, state.settings.base_url)
        return Response(checkin.qr(info.url, "png"), media_type="image/png")

    @post("/{meeting_id:uuid}/attendance", dependencies=_STAFF, status_code=200)
    async def record_attendance(
        self, conn: Conn, principal: CurrentPrincipal, meeting_id: FromPath[UUID], data: JSONBody[AttendanceIn]
    ) -> list[Attendance]:
        """Mark people present or absent (bulk); people without a registration are recorded as walk-ins."""
        return await service.record(conn, principal, meeting_id, data.records)

    @get("/{meeting_id:uuid}/attendance", dependencies=_STAFF)
    async def list_attendance(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        meeting_id: FromPath[UUID],
        cursor: CursorParam = None,
        limit: LimitParam = 50,
    ) -> Page[AttendanceListItem]:
        """Who was marked present or absent, in name order, a page at a time (`next_cursor`)."""
        after = decode_cursor(cursor, tuple[SortText, UUID])
        await staff_meeting(conn, principal, meeting_id)
        items = await q.list_for_meeting(conn, meeting_id, after=after, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        last = items[-1] if more else None
        return Page(
            items=items, next_cursor=encode_cursor(last.participant.name, str(last.participant.id)) if last else None
        )

    @post(
        "/{meeting_id:uuid}/attendance/self",
        dependencies={"caller": provide_caller},
        status_code=200,
    )
    async def self_checkin(
        self,
        conn: Conn,
        caller: CurrentCaller,
        meeting_id: FromPath[UUID],
        data: JSONBody[SelfCheckinIn],
        request: Request[Any, Any, Any],
    ) -> Attendance:
        """Check yourself in with the code shown at the venue (personal token, or your details). A few tries per
        person; too many wrong codes for one meeting answer 429 for a while."""
        async with ratelimit.checkin_attempt(request, meeting_id):
            return await service.self_checkin(conn, caller.actor, meeting_id, data)

    @post("/{meeting_id:uuid}/attendance/release-no-shows", dependencies=_STAFF, status_code=200)
    async def release_no_shows(self, conn: Conn, principal: CurrentPrincipal, meeting_id: FromPath[UUID]) -> Released:
        """Give the seats of confirmed people who did not show up to the waiting list."""
        return await service.release_no_shows(conn, principal, meeting_id)
