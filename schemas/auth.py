"""API keys and the principal a request acts as."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from schemas.common import Email, Name, OrgCode

Role = Literal["admin", "organiser", "funder"]


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    key_id: UUID
    role: Role
    organisation_code: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    prefix: str
    role: Role
    organisation_code: str | None
    name: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None  # to the hour


class ApiKeyIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: Role
    organisation_code: OrgCode | None = None
    name: Name | None = None


class CreatedApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """Returned once, at creation: the plaintext key is not stored and cannot be shown again."""

    key: str
    api_key: ApiKey


class StaffAddressIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A colleague's work address that may sign in to the organiser pages by mail, bound to an organiser key: the
    caller's own (organiser), or `api_key_id` (an admin, or another key of the organiser's own body)."""

    email: Email
    api_key_id: UUID | None = None


class StaffAddress(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    added_at: datetime
    api_key_id: UUID
    organisation_code: str | None
    key_name: str
