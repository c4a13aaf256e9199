"""What a caller may ask of a report: who it is for, which period, how it is grouped, in which format.

Every parameter is checked here, and a bad one answers problem+json naming it (the query key, as sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from schemas.auth import Principal
from services.errors import Forbidden, InvalidInput
from services.reports.dimensions import DIMENSIONS

FORMATS = {
    "json": "application/json",
    "csv": "text/csv",  # Litestar adds the charset
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MAX_DAYS = 10 * 366


@dataclass(frozen=True)
class ReportRequest:
    funder: str | None  # None: every meeting (an admin who named no funder)
    first: date
    last: date
    group_by: tuple[str, ...]
    today_division: bool
    format: str


@dataclass(frozen=True)
class Params:
    """The query string as sent (lowerCamelCase keys)."""

    funder: str | None = None
    from_: str | None = None
    to: str | None = None
    year: str | None = None
    quarter: str | None = None
    group_by: str | None = None
    municipality_as_of: str | None = None
    format: str | None = None


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("Geen geldige datum; gebruik JJJJ-MM-DD", field=field) from None


def _int(value: str, field: str, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise InvalidInput(f"Geef een getal van {low} tot en met {high}", field=field)
    return int(value)


def period(p: Params, today: date) -> tuple[date, date]:
    """from/to (both, inclusive), or year with an optional quarter; nothing at all is the current year."""
    if (p.from_ or p.to) and (p.year or p.quarter):
        raise InvalidInput("Geef een periode met from/to óf met year/quarter, niet allebei", field="year")
    if p.from_ or p.to:
        if not p.from_:
            raise InvalidInput("Geef ook het begin van de periode", field="from")
        if not p.to:
            raise InvalidInput("Geef ook het einde van de periode", field="to")
        first, last = _date(p.from_, "from"), _date(p.to, "to")
        if last < first:
            raise InvalidInput("Het einde ligt vóór het begin", field="to")
        if (last - first).days > MAX_DAYS:
            raise InvalidInput("Een rapport beslaat hoogstens tien jaar", field="to")
        return first, last
    if p.quarter and not p.year:
        raise InvalidInput("Een kwartaal hoort bij een jaar; geef ook year", field="year")
    year = _int(p.year, "year", 2000, 2100) if p.year else today.year
    if p.quarter:
        q = _int(p.quarter, "quarter", 1, 4)
        first = date(year, 3 * q - 2, 1)
        last = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
        return first, date.fromordinal(last.toordinal() - 1)
    return date(year, 1, 1), date(year, 12, 31)


def group_by(raw: str | None) -> tuple[str, ...]:
    if raw is None or raw.strip() == "":
        return ()
    names = tuple(n.strip() for n in raw.split(","))
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        # what was sent is not echoed: an error names the field, never repeats its contents
        raise InvalidInput(f"Onbekende indeling; kies uit {', '.join(DIMENSIONS)}", field="groupBy")
    if len(names) > 2:
        raise InvalidInput("Deel in naar hoogstens twee kenmerken", field="groupBy")
    if len(set(names)) != len(names):
        raise InvalidInput("Noem een kenmerk maar één keer", field="groupBy")
    return names


def output_format(raw: str | None, accept: str | None) -> str:
    """?format= wins; otherwise the Accept header; otherwise JSON."""
    if raw is not None:
        if raw.lower() not in FORMATS:
            raise InvalidInput("Onbekend formaat; kies json, csv of xlsx", field="format")
        return raw.lower()
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        for name, full in FORMATS.items():
            if media == full.split(";")[0]:
                return name
    return "json"


def funder_of(principal: Principal, raw: str | None) -> str | None:
    """The funder whose meetings the report covers. A funder key covers its own body and nothing else: naming
    another answers 403. Organisers get no reports (they see their own meetings' lists)."""
    named = raw.strip().upper() if raw else None
    if principal.role == "funder":
        if named is not None and named != principal.organisation_code:
            raise Forbidden("Een financier ziet alleen rapporten over wat hij zelf financiert", field="funder")
        return principal.organisation_code
    if principal.role != "admin":
        raise Forbidden("Rapporten zijn er voor financiers en beheerders")
    return named


def parse(principal: Principal, params: Params, accept: str | None, today: date) -> ReportRequest:
    """Check every parameter; raises Forbidden (role, funder) or InvalidInput naming the field."""
    funder = funder_of(principal, params.funder)
    first, last = period(params, today)
    as_of = (params.municipality_as_of or "meeting").lower()
    if as_of not in ("meeting", "today"):
        raise InvalidInput("Kies meeting (indeling op de dag zelf) of today", field="municipalityAsOf")
    return ReportRequest(
        funder=funder,
        first=first,
        last=last,
        group_by=group_by(params.group_by),
        today_division=as_of == "today",
        format=output_format(params.format, accept),
    )
