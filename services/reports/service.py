"""Attendance and reach reports for funders: true aggregates from SQL, published through disclosure control."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from schemas.reports import Report, ReportRow
from services import dates
from services.db import Connection
from services.errors import InvalidInput
from services.reports import disclosure
from services.reports import queries as q
from services.reports.dimensions import DIMENSIONS
from services.reports.disclosure import Entry, Line
from services.reports.request import ReportRequest

Key = tuple[int, tuple[str | None, ...]]


@dataclass(frozen=True)
class Protection:
    k: int
    noise: int
    secret: bytes


def grouping_sets(dims: Sequence[str]) -> list[tuple[str, ...]]:
    """The cells, each dimension's subtotals (with two dimensions) and the grand total, in that order."""
    sets: list[tuple[str, ...]] = [tuple(dims)] if dims else []
    if len(dims) == 2:
        sets += [(dims[0],), (dims[1],)]
    return [*sets, ()]


async def attendance_report(
    conn: Connection, req: ReportRequest, protection: Protection, *, now: datetime | None = None
) -> Report:
    """The report `req` asks for. Raises InvalidInput for an unknown funder."""
    if req.funder is not None and not await q.funder_exists(conn, req.funder):
        raise InvalidInput("Onbekende financier", field="funder")
    now = now or datetime.now(UTC)
    sets = grouping_sets(req.group_by)
    people = await q.person_aggregates(
        conn, sets, funder=req.funder, first=req.first, last=req.last, now=now, today_division=req.today_division
    )
    meeting_sets = [s if not any(DIMENSIONS[d].personal for d in s) else () for s in sets]
    meetings = await q.meeting_aggregates(
        conn, meeting_sets, funder=req.funder, first=req.first, last=req.last, now=now
    )
    by_key: dict[Key, dict[str, Any]] = {}
    for a in people:
        by_key.setdefault(_key(a.grouping_set, sets, a.keys), {}).update(a.values)
    for a in meetings:
        if sets[a.grouping_set] == meeting_sets[a.grouping_set]:
            by_key.setdefault(_key(a.grouping_set, sets, a.keys), {}).update(a.values)
    by_key.setdefault((len(sets) - 1, ()), {})  # the total exists even for an empty period
    entries = {key: Entry(persons=int(values.get("persons", 0)), order=repr(key)) for key, values in by_key.items()}
    disclosure.primary(entries.values(), protection.k)
    disclosure.secondary(_lines(sets, entries), protection.k)

    names = await q.labels(conn, _codes(by_key, sets, "series"), _codes(by_key, sets, "meeting"))
    municipalities = await q.municipalities(conn)
    basis = now.date() if req.today_division else min(req.last, now.date())
    rows = []
    for key, values in by_key.items():
        dims = sets[key[0]]
        codes = dict(zip(dims, key[1], strict=True))
        personal = any(DIMENSIONS[d].personal for d in dims)
        rows.append(
            (
                key,
                _publish(codes, values, entries[key], personal, protection, names,
                         _municipalities_total(codes, municipalities, basis)),
            )
        )  # fmt: skip
    rows.sort(key=lambda kv: (kv[0][0], _sort_key(kv[1])))
    cells = [r for k, r in rows if k[0] == 0 and sets[0]]
    subtotals = [r for k, r in rows if 0 < k[0] < len(sets) - 1]
    total = next(r for k, r in rows if k[0] == len(sets) - 1)
    return Report(
        funder=req.funder,
        period_from=req.first,
        period_to=req.last,
        group_by=list(req.group_by),
        municipality_as_of="today" if req.today_division else "meeting",
        k=protection.k,
        generated_at=now,
        rows=cells,
        subtotals=subtotals,
        total=total,
    )


def _key(index: int, sets: Sequence[Sequence[str]], keys: dict[str, str | None]) -> Key:
    return index, tuple(keys[d] for d in sets[index])


def _codes(by_key: dict[Key, dict[str, Any]], sets: Sequence[Sequence[str]], dim: str) -> list[str]:
    out = set()
    for index, codes in by_key:
        if dim in sets[index]:
            code = codes[list(sets[index]).index(dim)]
            if code is not None:
                out.add(code)
    return sorted(out)


def _lines(sets: Sequence[tuple[str, ...]], entries: dict[Key, Entry]) -> list[Line]:
    """The equations a reader can form: each row and column of cells with its subtotal, the subtotals with the
    grand total. A subtotal nobody falls into is an explicit zero entry."""
    total = entries[(len(sets) - 1, ())]
    if len(sets) == 1:
        return []
    if len(sets) == 2:
        return [Line([e for (i, _), e in entries.items() if i == 0], total)]
    lines: list[Line] = []
    for axis, margin_set in ((0, 1), (1, 2)):
        margins: dict[str | None, Entry] = {}
        for (i, codes), e in entries.items():
            if i == margin_set:
                margins[codes[0]] = e
        groups: dict[str | None, list[Entry]] = {}
        for (i, codes), e in entries.items():
            if i == 0:
                groups.setdefault(codes[axis], []).append(e)
        for code, cells in groups.items():
            margin = margins.get(code)
            if margin is None:
                margin = entries[(margin_set, (code,))] = Entry(persons=0)
            lines.append(Line(cells, margin))
        lines.append(Line(list(margins.values()), total))
    return lines


def _municipalities_total(codes: dict[str, str | None], rows: list[q.MunicipalityRow], on: date) -> int | None:
    """How many municipalities the cell's area has on `on`: all, a province's or a safety region's; 1 for one."""
    if "municipality" in codes:
        return 1 if codes["municipality"] is not None else None
    alive = [r for r in rows if (r.began_on is None or r.began_on <= on) and (r.ended_on is None or r.ended_on > on)]
    if "province" in codes:
        return sum(1 for r in alive if r.province_code == codes["province"]) if codes["province"] else None
    if "safety_region" in codes:
        return (
            sum(1 for r in alive if r.safety_region_code == codes["safety_region"]) if codes["safety_region"] else None
        )
    return len(alive)


_NONE_LABELS = {
    "series": "Geen reeks",
    "theme": "Geen thema",
    "municipality": "Geen gemeente",
    "province": "Onbekend",
    "safety_region": "Onbekend",
    "professional_group": "Onbekend",
}


def label(dim: str, code: str | None, names: dict[str, dict[str, str]]) -> str:
    if code is None:
        return _NONE_LABELS.get(dim, "Onbekend")
    if dim == "month":
        year, month = code.split("-")
        return dates.month(int(year), int(month))
    if dim == "quarter":
        return code.replace("-Q", " K")
    return names.get(dim, {}).get(code, code)


def _sort_key(row: ReportRow) -> tuple[tuple[bool, str], ...]:
    """Months and quarters in time order, the rest by name (meeting names end in their date); "none" last."""
    out = []
    for dim, code in row.dimensions.items():
        text = code if dim in ("month", "quarter") and code is not None else row.labels[dim].lower()
        out.append((code is None, text))
    return tuple(out)


def _publish(
    codes: dict[str, str | None],
    v: dict[str, Any],
    entry: Entry,
    personal: bool,
    p: Protection,
    names: dict[str, dict[str, str]],
    municipalities_total: int | None,
) -> ReportRow:
    labels = {d: label(d, c, names) for d, c in codes.items()}
    meetings_held = v.get("meetings_with_people", 0) if personal else v.get("meetings_held", 0)
    seats = None if personal else int(v.get("seats_offered", 0))
    if entry.status is not None:
        hidden = disclosure.small(p.k) if entry.status == "primary" else disclosure.SECONDARY
        return ReportRow(
            dimensions=codes, labels=labels,
            meetings_held=hidden if personal else meetings_held, seats_offered=seats,
            registrations=hidden, attended=hidden, no_shows=hidden, no_show_rate=hidden,
            unique_participants=hidden, municipalities_reached=hidden, municipalities_total=municipalities_total,
            participant_hours=hidden, evaluation_response_rate=hidden, average_grade=hidden,
            suppressed=entry.status,
        )  # fmt: skip
    key = int(v.get("cell_key", 0))

    def count(measure: str) -> int:
        return disclosure.perturb(p.secret, key, measure, int(v.get(measure, 0)), p.noise)

    registrations, attended, no_shows = count("registrations"), count("attended"), count("no_shows")
    true_attended, hours = int(v.get("attended", 0)), float(v.get("participant_hours", 0.0))
    # Evaluations belong to meetings (answers carry no person): none in a table by a person's characteristics.
    evaluations = 0 if personal else int(v.get("evaluations", 0))
    published_evaluations = count("evaluations") if evaluations else 0
    graded = int(v.get("graded", 0))
    grade: float | str | None = None
    if evaluations and graded >= p.k and v.get("grade_sum") is not None:
        grade = round(float(v["grade_sum"]) / graded, 1)
    elif evaluations and graded > 0:
        grade = disclosure.small(p.k)
    return ReportRow(
        dimensions=codes,
        labels=labels,
        meetings_held=meetings_held,
        seats_offered=seats,
        registrations=registrations,
        attended=attended,
        no_shows=no_shows,
        no_show_rate=round(100 * no_shows / registrations, 1) if registrations else None,
        unique_participants=count("unique_participants"),
        # a number of municipalities, not of people: exact (the cell already holds at least k people)
        municipalities_reached=int(v.get("municipalities_reached", 0)),
        municipalities_total=municipalities_total,
        participant_hours=round(hours * attended / true_attended, 1) if true_attended else 0.0,
        evaluation_response_rate=(
            round(100 * published_evaluations / attended, 1) if evaluations and attended else None
        ),
        average_grade=grade,
        suppressed=None,
    )
