"""HTTP: /api/v1/webhooks — subscriptions to domain events, signed deliveries and their attempt log."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from litestar import Controller, Response, delete, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from schemas.common import Page
from schemas.webhooks import CreatedWebhook, RotateSecretIn, Webhook, WebhookAttempt, WebhookIn
from services.auth.guards import CurrentPrincipal, provide_principal
from services.db import Conn
from services.http import CursorParam, LimitParam, created
from services.pagination import RowId, decode_cursor, encode_cursor
from services.settings import Settings
from services.webhooks import service


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ("webhooks",)
    dependencies = {"principal": provide_principal}  # noqa: RUF012 - Litestar reads a class attribute

    @post("/")
    async def create_webhook(
        self, conn: Conn, principal: CurrentPrincipal, state: State, data: JSONBody[WebhookIn]
    ) -> Response[CreatedWebhook]:
        """Subscribe a URL to events (admin, organiser). The signing secret is shown only in this response."""
        settings: Settings = state.settings
        webhook = await service.create(conn, principal, data, settings=settings)
        return created(webhook, f"/api/v1/webhooks/{webhook.webhook.id}")

    @get("/")
    async def list_webhooks(
        self, conn: Conn, principal: CurrentPrincipal, cursor: CursorParam = None, limit: LimitParam = 50
    ) -> Page[Webhook]:
        """Subscriptions: all for administrators, their organisation's for organisers."""
        after = decode_cursor(cursor, tuple[datetime, UUID])
        items = await service.list_webhooks(conn, principal, after=after, limit=limit + 1)
        more, items = len(items) > limit, items[:limit]
        last = items[-1] if items else None
        return Page(
            items=items, next_cursor=encode_cursor(last.created_at.isoformat(), str(last.id)) if more and last else None
        )

    @get("/{webhook_id:uuid}")
    async def get_webhook(self, conn: Conn, principal: CurrentPrincipal, webhook_id: FromPath[UUID]) -> Webhook:
        return await service.get(conn, principal, webhook_id)

    @post("/{webhook_id:uuid}/secret")
    async def rotate_secret(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        webhook_id: FromPath[UUID],
        data: JSONBody[RotateSecretIn | None] = None,
    ) -> Response[CreatedWebhook]:
        """A new signing secret, shown only in this response. The current one keeps signing beside it for
        `grace_hours` (default 24): the header then carries a `v1=` for each, so receivers switch when they can."""
        grace = timedelta(hours=(data or RotateSecretIn()).grace_hours)
        rotated = await service.rotate_secret(conn, principal, webhook_id, grace)
        return created(rotated, f"/api/v1/webhooks/{webhook_id}")

    @delete("/{webhook_id:uuid}")
    async def delete_webhook(self, conn: Conn, principal: CurrentPrincipal, webhook_id: FromPath[UUID]) -> None:
        """Unsubscribe; pending deliveries stop."""
        await service.delete(conn, principal, webhook_id)

    @get("/{webhook_id:uuid}/attempts")
    async def list_attempts(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        webhook_id: FromPath[UUID],
        cursor: CursorParam = None,
        limit: LimitParam = 50,
    ) -> Page[WebhookAttempt]:
        """Every delivery attempt, newest first: status code, duration, error and the start of the answer."""
        position = decode_cursor(cursor, tuple[RowId])
        items = await service.attempts(
            conn, principal, webhook_id, before_id=position[0] if position else None, limit=limit + 1
        )
        more, items = len(items) > limit, items[:limit]
        return Page(items=items, next_cursor=encode_cursor(items[-1].id) if more and items else None)
