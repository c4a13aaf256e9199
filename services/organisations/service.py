"""Rules for organisations."""

from __future__ import annotations

from schemas.organisations import ImportResult, Organisation, OrganisationIn
from services.db import Connection
from services.errors import Conflict, InvalidInput, NotFound
from services.organisations import queries as q
from services.organisations.importer import import_organisations_csv


async def get(conn: Connection, code: str) -> Organisation:
    """Raises NotFound."""
    organisation = await q.get_organisation(conn, code.upper())
    if organisation is None:
        raise NotFound(f"Organisatie {code} bestaat niet")
    return organisation


async def create(conn: Connection, data: OrganisationIn) -> Organisation:
    """Raises Conflict when the code is taken, InvalidInput for unknown members or regions."""
    if data.member_codes:
        known = await q.existing_codes(conn, data.member_codes, ("municipality",))
        unknown = sorted(set(data.member_codes) - known)
        if unknown:
            raise InvalidInput(f"Onbekende gemeenten: {', '.join(unknown)}", field="member_codes")
    if data.province_code and not await conn.fetchval("SELECT 1 FROM provinces WHERE code = $1", data.province_code):
        raise InvalidInput(f"Onbekende provincie {data.province_code}", field="province_code")
    if data.safety_region_code and not await conn.fetchval(
        "SELECT 1 FROM safety_regions WHERE code = $1", data.safety_region_code
    ):
        raise InvalidInput(f"Onbekende veiligheidsregio {data.safety_region_code}", field="safety_region_code")
    organisation = await q.insert_organisation(
        conn,
        code=data.code,
        name=data.name.strip(),
        kind=data.kind,
        province_code=data.province_code,
        safety_region_code=data.safety_region_code,
        member_codes=sorted(set(data.member_codes)),
    )
    if organisation is None:
        raise Conflict(f"Er bestaat al een organisatie met code {data.code}", field="code")
    return organisation


async def import_csv(conn: Connection, content: bytes) -> ImportResult:
    """Raises InvalidInput (with every wrong line) when the file cannot be imported as a whole."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("Het bestand is geen UTF-8 CSV", field="data") from None
    if not text.strip():
        raise InvalidInput("Het bestand is leeg", field="data")
    result = await import_organisations_csv(conn, text)
    if result.errors:
        raise InvalidInput("Het bestand is niet geïmporteerd: " + "; ".join(result.errors[:20]), field="data")
    return result
