"""The options of the profile form: organisations grouped by kind, professional groups."""

from __future__ import annotations

import msgspec

from services.db import Connection
from services.web.i18n import N_
from services.web.i18n import gettext as _

Options = list[tuple[str, list[tuple[str, str]]]]
_KINDS = (
    ("municipality", N_("Gemeenten")),
    ("region", N_("Regio's en samenwerkingsverbanden")),
    ("organiser", N_("Landelijke organisaties")),
)


class Choices(msgspec.Struct, frozen=True, kw_only=True):
    organisations: Options
    groups: Options


async def load(conn: Connection) -> Choices:
    rows = await conn.fetch(
        "SELECT code, name, kind FROM organisations WHERE kind = ANY($1::text[]) ORDER BY name", [k for k, _ in _KINDS]
    )
    grouped = [(_(label), [(r["code"], r["name"]) for r in rows if r["kind"] == kind]) for kind, label in _KINDS]
    organisations: Options = [(label, options) for label, options in grouped if options]  # no empty <optgroup>
    groups = await conn.fetch("SELECT slug, name FROM professional_groups WHERE active ORDER BY position, slug")
    return Choices(organisations=organisations, groups=[("", [(g["slug"], g["name"]) for g in groups])])
