"""SQL for the managed lists: themes and professional groups (beroepsgroepen). Both tables share one shape."""

from __future__ import annotations

from typing import Literal

from schemas.organisations import CatalogItem
from services.db import Connection, required

CatalogTable = Literal["themes", "professional_groups"]


def _check(table: str) -> None:
    # The table name is interpolated into SQL, so it must be one of ours.
    if table not in ("themes", "professional_groups"):
        raise ValueError(table)


async def list_catalog(conn: Connection, table: CatalogTable) -> list[CatalogItem]:
    _check(table)
    rows = await conn.fetch(f"SELECT slug, name, active FROM {table} ORDER BY position, slug")
    return [CatalogItem(**dict(r)) for r in rows]


async def upsert_catalog(conn: Connection, table: CatalogTable, slug: str, name: str, active: bool) -> CatalogItem:
    _check(table)
    row = await conn.fetchrow(
        f"""
        INSERT INTO {table} (slug, name, active, position)
        VALUES ($1, $2, $3, (SELECT coalesce(max(position), 0) + 1 FROM {table}))
        ON CONFLICT (slug) DO UPDATE SET name = excluded.name, active = excluded.active
        RETURNING slug, name, active
        """,
        slug,
        name,
        active,
    )
    return CatalogItem(**dict(required(row)))


async def active_slugs(conn: Connection, table: CatalogTable, slugs: list[str]) -> set[str]:
    _check(table)
    rows = await conn.fetch(f"SELECT slug FROM {table} WHERE slug = ANY($1::text[]) AND active", slugs)
    return {r["slug"] for r in rows}


async def existing_slugs(conn: Connection, table: CatalogTable, slugs: list[str]) -> set[str]:
    """The slugs that are in the list, active or not (an inactive one may still mark older meetings)."""
    _check(table)
    rows = await conn.fetch(f"SELECT slug FROM {table} WHERE slug = ANY($1::text[])", slugs)
    return {r["slug"] for r in rows}
