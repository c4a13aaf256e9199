"""Webhook subscriptions and their delivery attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from schemas.common import OrgCode, ShortText

# Form and destination are checked by services/webhooks/urls.py, which can say what is wrong.
WebhookUrl = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
EventTypeName = Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern=r"^[a-z_]+\.[a-z_]+$")]


class WebhookIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: WebhookUrl
    # Empty: every event type.
    event_types: Annotated[list[EventTypeName], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    description: ShortText = ""
    # Administrators may subscribe on behalf of an organisation; organisers always get their own.
    organisation_code: OrgCode | None = None


class Webhook(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    url: str
    event_types: list[str]
    organisation_code: str | None
    description: str
    active: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    # After a rotation: until then the previous secret signs beside the new one (a second `v1=` in the header).
    grace_until: datetime | None = None


class CreatedWebhook(msgspec.Struct, frozen=True, kw_only=True):
    """Returned once, at creation or rotation: keep `secret` to verify the `Leerkring-Signature` header."""

    secret: str
    webhook: Webhook


class WebhookAttempt(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    delivery_id: int
    event_id: UUID
    event_type: str
    attempt: int
    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_body: str | None


class RotateSecretIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How long the current secret keeps signing beside the new one (0: it stops at once; at most a week)."""

    grace_hours: Annotated[int, msgspec.Meta(ge=0, le=168)] = 24
