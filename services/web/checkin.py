"""/inchecken/{id}: the page behind the check-in QR code at the venue.

A registered participant who is signed in (through a link from their mails) checks in with the code shown at the
door. Anyone else is asked to sign in first, and comes back here after the link in the mail.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from schemas.registrations import SelfCheckinIn
from services import ratelimit
from services.attendance import queries as attendance_rows
from services.attendance import service as attendance
from services.dates import format_when
from services.db import Conn, Connection
from services.errors import DomainError
from services.meetings import service as meetings
from services.participants.auth import ParticipantActor
from services.web import forms, session
from services.web.i18n import gettext as _
from services.web.i18n import locale
from services.web.render import PAGE_ERRORS, field_errors, page, summary

CodeQuery = Annotated[str | None, QueryParameter(name="code", max_length=20)]


async def _page(
    conn: Connection,
    meeting_id: UUID,
    visitor: ParticipantActor | None,
    *,
    code: str,
    done: bool = False,
    errors: dict[str, str] | None = None,
) -> Template:
    meeting = await meetings.get(conn, None, meeting_id)
    errors = errors or {}
    return page(
        "checkin.html",
        status=422 if errors else 200,
        title=_("Inchecken"),
        meeting=meeting,
        when=format_when(meeting.starts_at, meeting.ends_at, meeting.timezone, locale()),
        signed_in=visitor is not None,
        code=code,
        done=done,
        errors=errors,
        error_list=summary(errors),
    )


class CheckinPageController(Controller):
    path = "/inchecken"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # type: ignore[assignment]

    @get("/{meeting_id:uuid}")
    async def show(
        self, conn: Conn, request: Request[Any, Any, Any], meeting_id: FromPath[UUID], code: CodeQuery = None
    ) -> Template:
        visitor = await session.participant(conn, request)
        # Opened again after checking in (the QR scanned twice, the page reloaded): say so, not the code form again.
        already = visitor is not None and await attendance_rows.attended(conn, meeting_id, visitor.participant_id)
        return await _page(conn, meeting_id, visitor, code=code or "", done=already)

    @post("/{meeting_id:uuid}", status_code=200)
    async def check_in(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Template:
        session.same_site(request, state.settings)
        visitor = await session.participant(conn, request)
        form = await forms.read(request)
        code = form.get("code", "")
        if visitor is None:
            return await _page(conn, meeting_id, None, code=code)
        if not code:
            # Not "Moet minstens 6 tekens lang zijn": nothing was typed.
            errors = {"code": _("Vul de incheckcode in")}
            return await _page(conn, meeting_id, visitor, code=code, errors=errors)
        try:
            data = forms.decode({"code": code}, SelfCheckinIn)
            async with ratelimit.checkin_attempt(request, meeting_id), conn.transaction():
                await attendance.self_checkin(conn, visitor, meeting_id, data)
        except DomainError as exc:
            errors = field_errors(exc.errors) or {"code": exc.detail}
            return await _page(conn, meeting_id, visitor, code=code, errors=errors)
        return await _page(conn, meeting_id, visitor, code=code, done=True)
