"""Audit log entries as admins read them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: datetime
    actor_role: str
    key_id: UUID | None
    actor_participant_id: UUID | None
    action: str
    object_type: str
    object_id: str | None
    meeting_id: UUID | None
    participant_id: UUID | None
    detail: dict[str, Any]
