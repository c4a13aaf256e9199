"""HTTP: /api/v1/meetings/{id}/invitations (invite, progress, invitees, preview) and /api/v1/audience-lists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeAlias
from uuid import UUID

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from schemas.common import Page
from schemas.invitations import (
    AudienceList,
    AudienceListCreated,
    AudienceListIn,
    InvitationBatch,
    InvitationPreview,
    InvitationsAccepted,
    InvitationsIn,
    Invitee,
    InviteeStatus,
    Locale,
    PreviewKind,
)
from services.auth.guards import CurrentPrincipal, provide_principal, require_role
from services.db import Conn
from services.errors import InvalidInput
from services.http import CodeParam, CursorParam, LimitParam
from services.invitations import lists, preview, replies, service
from services.invitations.replies import ReplyRecorded
from services.pagination import RowId, decode_cursor, encode_cursor

NoteParam: TypeAlias = Annotated[
    str, QueryParameter(max_length=2000, description="Een persoonlijk bericht van de organisator, als voorbeeld")
]


class InvitationController(Controller):
    path = "/api/v1/meetings/{meeting_id:uuid}/invitations"
    tags = ("uitnodigingen",)
    dependencies = {"principal": provide_principal}  # noqa: RUF012 - Litestar reads this class attribute

    @post("/", status_code=202)
    async def invite(
        self,
        conn: Conn,
        state: State,
        principal: CurrentPrincipal,
        meeting_id: FromPath[UUID],
        data: JSONBody[InvitationsIn],
    ) -> InvitationsAccepted:
        """Invite an audience. Answers at once (202) with the batch; workers resolve and send, follow
        `progress_url`. Bad pasted addresses come back in `rejected` with the reason; the rest is invited. 429 when
        the audience would take your organisation past its mail quota for 24 hours (`GET
        /api/v1/organisations/{code}/mail-quota`)."""
        return await service.request_invitations(
            conn, principal, meeting_id, data, quota_per_day=state.settings.mail_quota_per_day
        )

    @get("/")
    async def list_batches(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        meeting_id: FromPath[UUID],
        cursor: CursorParam = None,
        limit: LimitParam = 50,
    ) -> Page[InvitationBatch]:
        """The batches of this meeting (invitations, and the updates and cancellations sent for it) with counts,
        oldest first, a page at a time (`next_cursor`)."""
        after = decode_cursor(cursor, tuple[datetime, UUID])
        items = await service.batches(conn, principal, meeting_id, after=after, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        last = items[-1] if more else None
        return Page(items=items, next_cursor=encode_cursor(last.created_at.isoformat(), str(last.id)) if last else None)

    @get("/preview")
    async def preview(
        self,
        conn: Conn,
        state: State,
        principal: CurrentPrincipal,
        meeting_id: FromPath[UUID],
        kind: FromQuery[PreviewKind] = "invitation",
        locale: FromQuery[Locale] = "nl",
        note: NoteParam = "",
    ) -> InvitationPreview:
        """What an invitee would receive, rendered with this meeting: subject, text, HTML and the iCalendar part."""
        return await preview.preview(
            conn, principal, meeting_id, kind=kind, locale=locale, note=note, settings=state.settings
        )

    @get("/{batch_id:uuid}")
    async def get_batch(
        self, conn: Conn, principal: CurrentPrincipal, meeting_id: FromPath[UUID], batch_id: FromPath[UUID]
    ) -> InvitationBatch:
        """Progress of one batch: queued / sent / failed / bounced (and skipped) counts."""
        return await service.batch(conn, principal, meeting_id, batch_id)

    @get("/{batch_id:uuid}/invitees")
    async def list_invitees(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        meeting_id: FromPath[UUID],
        batch_id: FromPath[UUID],
        status: FromQuery[InviteeStatus | None] = None,
        cursor: CursorParam = None,
        limit: LimitParam = 50,
    ) -> Page[Invitee]:
        """Delivery status per invitee, in the order they were added."""
        after = decode_cursor(cursor, tuple[RowId])
        items = await service.invitees(
            conn, principal, meeting_id, batch_id, status=status, after_id=after[0] if after else None, limit=limit + 1
        )
        more = len(items) > limit
        items = items[:limit]
        return Page(items=items, next_cursor=encode_cursor(items[-1].id) if more and items else None)


class AudienceListController(Controller):
    path = "/api/v1/audience-lists"
    tags = ("uitnodigingen",)
    dependencies = {"principal": provide_principal}  # noqa: RUF012 - Litestar reads this class attribute

    @post("/")
    async def save_list(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        data: JSONBody[AudienceListIn],
        organisation: CodeParam = None,
    ) -> AudienceListCreated:
        """Save (or replace, by name) an audience list of the caller's organisation; admins name `organisation`."""
        return await lists.save(conn, principal, data, organisation.upper() if organisation else None)

    @get("/")
    async def list_lists(self, conn: Conn, principal: CurrentPrincipal) -> list[AudienceList]:
        return await lists.mine(conn, principal)

    @delete("/{list_id:uuid}")
    async def delete_list(self, conn: Conn, principal: CurrentPrincipal, list_id: FromPath[UUID]) -> None:
        await lists.delete(conn, principal, list_id)


class InvitationReplyController(Controller):
    path = "/api/v1/invitations/replies"
    tags = ("uitnodigingen",)
    dependencies = {"principal": provide_principal}  # noqa: RUF012 - Litestar reads this class attribute

    @post("/", status_code=200)
    async def record_reply(
        self, conn: Conn, principal: CurrentPrincipal, request: Request[Any, Any, Any]
    ) -> ReplyRecorded:
        """For the mail gateway (admin key): post an iTIP REPLY (the whole mail as `message/rfc822`, or just its
        `text/calendar` part). Its PARTSTAT is recorded as the invitee's response; it registers nobody."""
        require_role(principal, "admin")
        body = await request.body()
        if len(body) > replies.MAX_REPLY_BYTES:
            raise InvalidInput("Het bericht is te groot", field="body")
        return await replies.record(conn, body, request.headers.get("content-type", "message/rfc822").lower())
