"""Series of meetings: a body's own programme (the API's /api/v1/series and the organiser's pages both call these).

A series belongs to one organising body; only that body (and an admin) sees it or changes it, and a meeting joins
only a series of one of its organisers (services/meetings/service.py). A series nobody may see is "not found".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from schemas.auth import Principal
from schemas.meetings import Series, SeriesIn, SeriesPatch
from services.auth.guards import require_organisation, require_role
from services.db import Connection, required
from services.errors import InvalidInput, NotFound
from services.evaluations.templates import usable_by as usable_questionnaire
from services.reminders import rules as reminder_rules
from services.reminders.service import check_rules

_COLUMNS = "id, title, organiser_code, created_at, reminders, questionnaire_id"


def to_series(row: Any) -> Series:
    rules = reminder_rules.parse(row["reminders"])
    return Series(
        id=row["id"],
        title=row["title"],
        organiser_code=row["organiser_code"],
        created_at=row["created_at"],
        reminders=None if rules is None else list(rules),
        questionnaire_id=row["questionnaire_id"],
    )


async def _check_questionnaire(conn: Connection, questionnaire_id: UUID | None, code: str) -> None:
    if questionnaire_id is not None and not await usable_questionnaire(conn, questionnaire_id, [code]):
        raise InvalidInput("Deze vragenlijst bestaat niet bij je organisatie", field="questionnaire_id")


async def create(conn: Connection, principal: Principal, data: SeriesIn) -> Series:
    """Start a series for an organising body. Raises Forbidden (funders, another body), InvalidInput."""
    require_role(principal, "admin", "organiser")
    code = data.organiser_code or principal.organisation_code
    if code is None:
        raise InvalidInput("Geef de organiserende organisatie op", field="organiser_code")
    require_organisation(principal, [code], "deze reeks")
    if not await conn.fetchval("SELECT 1 FROM organisations WHERE code = $1 AND kind IN ('organiser','funder')", code):
        raise InvalidInput(f"Onbekende organiserende organisatie {code}", field="organiser_code")
    if data.reminders is not None:
        check_rules(data.reminders)
    await _check_questionnaire(conn, data.questionnaire_id, code)
    row = await conn.fetchrow(
        f"INSERT INTO series (title, organiser_code, reminders, questionnaire_id) VALUES ($1, $2, $3, $4) "
        f"RETURNING {_COLUMNS}",
        data.title.strip(),
        code,
        None if data.reminders is None else reminder_rules.to_json(data.reminders),
        data.questionnaire_id,
    )
    return to_series(required(row))


async def list_for(
    conn: Connection, principal: Principal, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[Series]:
    """The series of the caller's body (all of them for an admin), oldest first, after `after`; `limit` of them."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM series
        WHERE ($1::text IS NULL OR organiser_code = $1)
          AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
        ORDER BY created_at, id
        LIMIT $4
        """,
        None if principal.is_admin else principal.organisation_code,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [to_series(r) for r in rows]


async def get(conn: Connection, principal: Principal, series_id: UUID, *, for_update: bool = False) -> Series:
    """One series of the caller's body. Raises NotFound (also for another body's series)."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM series WHERE id = $1{' FOR UPDATE' if for_update else ''}", series_id
    )
    if row is None or not (principal.is_admin or row["organiser_code"] == principal.organisation_code):
        raise NotFound("Deze reeks bestaat niet")
    return to_series(row)


async def update(conn: Connection, principal: Principal, series_id: UUID, patch: SeriesPatch) -> Series:
    """Change a series' title. Raises NotFound, Forbidden (funders)."""
    require_role(principal, "admin", "organiser")
    current = await get(conn, principal, series_id, for_update=True)
    if isinstance(patch.title, msgspec.UnsetType):
        return current
    row = await conn.fetchrow(
        f"UPDATE series SET title = $2 WHERE id = $1 RETURNING {_COLUMNS}", series_id, patch.title.strip()
    )
    return to_series(required(row))
