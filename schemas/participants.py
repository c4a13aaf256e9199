"""Participant bodies: who registers, what they may read and change about themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from schemas.common import Email, Name, OrgCode, Slug

Locale = Literal["nl", "en"]
TokenPurpose = Literal["manage", "feed"]


class ParticipantIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Find-or-create by e-mail. An existing participant is never changed through this body; from an anonymous
    caller the details count only once the address is confirmed."""

    email: Email
    name: Name
    organisation_code: OrgCode | None = None
    professional_group: Slug | None = None
    locale: Locale = "nl"
    # "Send me invitations for meetings that match my profile" (professional group, organisation, region).
    invitation_consent: bool = False


class ProfileIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a person fills in about themselves on a page (registering, confirming, their profile)."""

    name: Name
    organisation_code: OrgCode | None = None
    professional_group: Slug | None = None
    invitation_consent: bool = False


class ParticipantPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    organisation_code: OrgCode | UnsetType | None = UNSET
    professional_group: Slug | UnsetType | None = UNSET
    locale: Locale | UnsetType = UNSET
    invitation_consent: bool | UnsetType = UNSET


class Participant(msgspec.Struct, kw_only=True):
    id: UUID
    email: str
    name: str
    organisation_code: str | None
    professional_group: str | None
    locale: str
    invitation_consent: bool
    # When the address was proven (a confirmed link, an invitation link, staff vouching); None: not yet.
    verified_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ParticipantSummary(msgspec.Struct, kw_only=True):
    """What an organiser sees of a person in a registration or attendance list."""

    id: UUID
    name: str
    email: str
    organisation_code: str | None
    professional_group: str | None


class LinkRequested(msgspec.Struct, kw_only=True):
    """The answer to an anonymous find-or-create: the same whether or not the address was known."""

    status: Literal["ontvangen"] = "ontvangen"
    detail: str


class TokenInfo(msgspec.Struct, kw_only=True):
    id: UUID
    purpose: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedToken(msgspec.Struct, kw_only=True):
    """Returned once: only a hash is stored, the token cannot be shown again."""

    token: str
    purpose: TokenPurpose


class Erased(msgspec.Struct, kw_only=True):
    erased_at: datetime
    cancelled_registrations: int
