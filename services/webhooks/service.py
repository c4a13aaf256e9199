"""Rules for webhook subscriptions: who may subscribe to what, and where deliveries may go."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from schemas.auth import Principal
from schemas.events import EVENT_TYPES
from schemas.webhooks import CreatedWebhook, Webhook, WebhookAttempt, WebhookIn
from services.auth.guards import require_role
from services.db import Connection, required
from services.errors import Forbidden, InvalidInput, NotFound
from services.settings import Settings
from services.webhooks import urls
from services.webhooks.signing import new_secret

_COLUMNS = (
    "id, url, event_types, organisation_code, description, active, disabled_at, disabled_reason, created_at, "
    "previous_secret_until AS grace_until"
)
_ATTEMPT_COLUMNS = (
    "id, delivery_id, event_id, event_type, attempt, attempted_at, duration_ms, status_code, error, response_body"
)


def _webhook(row: Any) -> Webhook:
    return Webhook(**dict(row))


async def create(conn: Connection, principal: Principal, data: WebhookIn, *, settings: Settings) -> CreatedWebhook:
    """Subscribe; the secret is returned this once. Raises Forbidden, InvalidInput."""
    require_role(principal, "admin", "organiser")
    code = data.organisation_code
    if not principal.is_admin:
        if code is not None and code != principal.organisation_code:
            raise Forbidden("Je kunt alleen webhooks voor je eigen organisatie aanmaken")
        code = principal.organisation_code
    elif code is not None and not await conn.fetchval("SELECT 1 FROM organisations WHERE code = $1", code):
        raise InvalidInput(f"Organisatie {code} bestaat niet", field="organisation_code")
    unknown = sorted(set(data.event_types) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(f"Onbekend gebeurtenistype '{unknown[0]}'", field="event_types")
    url = await urls.validate(
        data.url, production=settings.is_production, allow_private=settings.webhooks_may_reach_private
    )
    secret = new_secret()
    row = await conn.fetchrow(
        f"""
        INSERT INTO webhook_subscriptions (url, secret, event_types, organisation_code, description)
        VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}
        """,
        url,
        secret,
        sorted(set(data.event_types)),
        code,
        data.description.strip(),
    )
    return CreatedWebhook(secret=secret, webhook=_webhook(required(row)))


def _scope(principal: Principal) -> str | None:
    """None for administrators (everything), else the organisation whose subscriptions they may see."""
    require_role(principal, "admin", "organiser")
    return None if principal.is_admin else principal.organisation_code


async def list_webhooks(
    conn: Connection, principal: Principal, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[Webhook]:
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM webhook_subscriptions
        WHERE ($1::text IS NULL OR organisation_code = $1)
          AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
        ORDER BY created_at, id LIMIT $4
        """,
        _scope(principal),
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [_webhook(r) for r in rows]


async def get(conn: Connection, principal: Principal, webhook_id: UUID) -> Webhook:
    """Raises NotFound, also for another organisation's subscription."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM webhook_subscriptions WHERE id = $1 AND ($2::text IS NULL OR organisation_code = $2)",
        webhook_id,
        _scope(principal),
    )
    if row is None:
        raise NotFound("Deze webhook bestaat niet")
    return _webhook(row)


async def rotate_secret(conn: Connection, principal: Principal, webhook_id: UUID, grace: timedelta) -> CreatedWebhook:
    """A new signing secret, returned this once; the current one keeps signing beside it for `grace`. Raises
    NotFound (also for another organisation's subscription)."""
    require_role(principal, "admin", "organiser")
    secret = new_secret()
    row = await conn.fetchrow(
        f"""
        UPDATE webhook_subscriptions
        SET previous_secret = CASE WHEN $4::interval > '0' THEN secret END,
            previous_secret_until = CASE WHEN $4::interval > '0' THEN now() + $4::interval END,
            secret = $3
        WHERE id = $1 AND ($2::text IS NULL OR organisation_code = $2)
        RETURNING {_COLUMNS}
        """,
        webhook_id,
        _scope(principal),
        secret,
        grace,
    )
    if row is None:
        raise NotFound("Deze webhook bestaat niet")
    return CreatedWebhook(secret=secret, webhook=_webhook(row))


async def delete(conn: Connection, principal: Principal, webhook_id: UUID) -> None:
    """Remove the subscription with its pending deliveries and attempt log. Raises NotFound."""
    status = await conn.execute(
        "DELETE FROM webhook_subscriptions WHERE id = $1 AND ($2::text IS NULL OR organisation_code = $2)",
        webhook_id,
        _scope(principal),
    )
    if status == "DELETE 0":
        raise NotFound("Deze webhook bestaat niet")


async def attempts(
    conn: Connection, principal: Principal, webhook_id: UUID, *, before_id: int | None, limit: int
) -> list[WebhookAttempt]:
    """Delivery attempts, newest first. Raises NotFound."""
    await get(conn, principal, webhook_id)
    rows = await conn.fetch(
        f"""
        SELECT {_ATTEMPT_COLUMNS} FROM webhook_attempts
        WHERE subscription_id = $1 AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC LIMIT $3
        """,
        webhook_id,
        before_id,
        limit,
    )
    return [WebhookAttempt(**dict(r)) for r in rows]
