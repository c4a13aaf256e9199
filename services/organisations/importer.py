"""Reference data (provinces, safety regions, all 342 municipalities) and the founding bodies.

The CSVs ship inside the package (CBS division of 1 January 2025); importing is an idempotent
upsert, so it runs on every migrate and on `leerkring import-organisations`.
"""

from __future__ import annotations

import csv
import io
from importlib import resources

from schemas.organisations import ImportResult
from services.db import Connection
from services.organisations.history import import_history

FOUNDING_BODIES: tuple[tuple[str, str, str], ...] = (
    ("VNG", "Vereniging van Nederlandse Gemeenten", "organiser"),
    ("BZK", "Ministerie van Binnenlandse Zaken en Koninkrijksrelaties", "funder"),
    ("AOF", "A&O fonds Gemeenten", "funder"),
)

_UPSERT = """
INSERT INTO organisations (code, name, kind, province_code, safety_region_code)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (code) DO UPDATE
SET name = excluded.name, kind = excluded.kind, province_code = excluded.province_code,
    safety_region_code = excluded.safety_region_code, updated_at = now()
WHERE (organisations.name, organisations.kind, organisations.province_code, organisations.safety_region_code)
      IS DISTINCT FROM (excluded.name, excluded.kind, excluded.province_code, excluded.safety_region_code)
RETURNING (xmax = 0) AS inserted
"""


def _data(name: str) -> str:
    return (resources.files("services.organisations") / "data" / name).read_text(encoding="utf-8")


def _rows(text: str) -> list[dict[str, str]]:
    return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


async def import_reference_data(conn: Connection) -> ImportResult:
    """Upsert provinces, safety regions, municipalities and founding bodies; safe to run any number of times."""
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO provinces (code, name) VALUES ($1, $2) ON CONFLICT (code) DO UPDATE SET name = excluded.name",
            [(r["code"], r["name"]) for r in _rows(_data("provinces.csv"))],
        )
        await conn.executemany(
            "INSERT INTO safety_regions (code, name) VALUES ($1, $2) "
            "ON CONFLICT (code) DO UPDATE SET name = excluded.name",
            [(r["code"], r["name"]) for r in _rows(_data("safety_regions.csv"))],
        )
        rows: list[tuple[str, str, str, str | None, str | None]] = [
            (r["cbs_code"], r["name"], "municipality", r["province"], r["safety_region_code"])
            for r in _rows(_data("municipalities.csv"))
        ]
        rows += [(code, name, kind, None, None) for code, name, kind in FOUNDING_BODIES]
        result = await _upsert(conn, rows)
        await import_history(conn)
        return result


async def import_organisations_csv(conn: Connection, text: str) -> ImportResult:
    """Import organisations from a CSV with columns code,name,kind[,province_code,safety_region_code].

    Every row is checked first; nothing is written when any row is wrong, and the errors name the line.
    """
    errors: list[str] = []
    rows: list[tuple[str, str, str, str | None, str | None]] = []
    provinces = {r["code"] for r in await conn.fetch("SELECT code FROM provinces")}
    regions = {r["code"] for r in await conn.fetch("SELECT code FROM safety_regions")}
    reader = _rows(text)
    if reader and not {"code", "name", "kind"} <= reader[0].keys():
        return ImportResult(created=0, updated=0, unchanged=0, errors=["kolommen code, name en kind zijn verplicht"])
    for line, r in enumerate(reader, start=2):
        code = r.get("code", "").upper()
        province = r.get("province_code") or None
        region = r.get("safety_region_code") or None
        if not code or not r.get("name"):
            errors.append(f"regel {line}: code en naam zijn verplicht")
        elif r.get("kind") not in ("municipality", "region", "organiser", "funder"):
            errors.append(f"regel {line}: onbekende soort '{r.get('kind')}'")
        elif province is not None and province not in provinces:
            errors.append(f"regel {line}: onbekende provincie '{province}'")
        elif region is not None and region not in regions:
            errors.append(f"regel {line}: onbekende veiligheidsregio '{region}'")
        else:
            rows.append((code, r["name"], r["kind"], province, region))
    if errors:
        return ImportResult(created=0, updated=0, unchanged=0, errors=errors)
    async with conn.transaction():
        return await _upsert(conn, rows)


async def _upsert(conn: Connection, rows: list[tuple[str, str, str, str | None, str | None]]) -> ImportResult:
    created = updated = 0
    for row in rows:
        result = await conn.fetchrow(_UPSERT, *row)
        if result is None:
            continue
        if result["inserted"]:
            created += 1
        else:
            updated += 1
    return ImportResult(created=created, updated=updated, unchanged=len(rows) - created - updated)
