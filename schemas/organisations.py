"""Organisations: municipalities, regional collaborations, organising and funding bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from schemas.common import Name, OrgCode

OrganisationKind = Literal["municipality", "region", "organiser", "funder"]


class Organisation(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    kind: OrganisationKind
    province_code: str | None = None
    safety_region_code: str | None = None
    member_codes: list[str] = msgspec.field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class OrganisationIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A regional collaboration, organising or funding body; municipalities come from the reference import."""

    code: OrgCode
    name: Name
    kind: Literal["region", "organiser", "funder"]
    province_code: Annotated[str, msgspec.Meta(pattern=r"^PV\d{2}$")] | None = None
    safety_region_code: Annotated[str, msgspec.Meta(pattern=r"^VR\d{2}$")] | None = None
    member_codes: Annotated[list[OrgCode], msgspec.Meta(max_length=400)] = msgspec.field(default_factory=list)


class ImportResult(msgspec.Struct, kw_only=True):
    created: int
    updated: int
    unchanged: int
    errors: list[str] = msgspec.field(default_factory=list)


class CatalogItem(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    name: str
    active: bool


class CatalogItemIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    slug: Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    name: Name
    active: bool = True
