"""SQL for organisations."""

from __future__ import annotations

from schemas.organisations import Organisation
from services.db import Connection

_COLUMNS = "code, name, kind, province_code, safety_region_code, member_codes, created_at, updated_at"


async def list_organisations(
    conn: Connection, *, kind: str | None, query: str | None, after: tuple[str, str] | None, limit: int
) -> list[Organisation]:
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM organisations
        WHERE ($1::text IS NULL OR kind = $1)
          AND ($2::text IS NULL OR name ILIKE '%' || $2 || '%' OR code = upper($2))
          AND ($3::text IS NULL OR (name, code) > ($3, $4))
        ORDER BY name, code
        LIMIT $5
        """,
        kind,
        query,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [Organisation(**dict(r)) for r in rows]


async def get_organisation(conn: Connection, code: str) -> Organisation | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM organisations WHERE code = $1", code)
    return None if row is None else Organisation(**dict(row))


async def existing_codes(conn: Connection, codes: list[str], kinds: tuple[str, ...] | None = None) -> set[str]:
    rows = await conn.fetch(
        "SELECT code FROM organisations WHERE code = ANY($1::text[]) AND ($2::text[] IS NULL OR kind = ANY($2))",
        codes,
        list(kinds) if kinds else None,
    )
    return {r["code"] for r in rows}


async def audience_code_known(conn: Connection, code: str) -> bool:
    """Whether a meeting's audience can name this code: an organisation (or region), a province or a safety region."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM organisations WHERE code = $1)"
            " OR EXISTS (SELECT 1 FROM provinces WHERE code = $1)"
            " OR EXISTS (SELECT 1 FROM safety_regions WHERE code = $1)",
            code,
        )
    )


async def insert_organisation(
    conn: Connection,
    *,
    code: str,
    name: str,
    kind: str,
    province_code: str | None,
    safety_region_code: str | None,
    member_codes: list[str],
) -> Organisation | None:
    row = await conn.fetchrow(
        f"""
        INSERT INTO organisations (code, name, kind, province_code, safety_region_code, member_codes)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (code) DO NOTHING
        RETURNING {_COLUMNS}
        """,
        code,
        name,
        kind,
        province_code,
        safety_region_code,
        member_codes,
    )
    return None if row is None else Organisation(**dict(row))
