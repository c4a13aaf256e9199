"""SQL for funder reports: the meetings in scope, one row per person and meeting, and their aggregates.

The statements are assembled only from the constant fragments in services/reports/dimensions.py; every value the
caller chose (funder, period, clock) travels as a $n parameter.

Parameters of every statement: $1 funder code (NULL: every meeting, admins only), $2 first day, $3 last day (both
local dates of the meeting's start), $4 the clock (meetings that ended before it were held), $5 true to roll
municipalities up to today's division.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.db import Connection
from services.reports.dimensions import DIMENSIONS

# A report over years of a large programme may take longer than the pool's 60 s default for one statement.
STATEMENT_SECONDS = 300

# The meetings a report covers: held (published, not cancelled, over) and funded by the funder.
SCOPE = """
scope AS NOT MATERIALIZED (
    SELECT m.id AS meeting_id, m.series_id, m.format, m.themes, m.organiser_codes, m.capacity,
           (m.starts_at AT TIME ZONE m.timezone)::date AS held_on,
           extract(epoch FROM m.ends_at - m.starts_at) / 3600.0 AS hours,
           hashtext(m.id::text) AS meeting_key
    FROM meetings m
    WHERE m.status = 'published' AND m.ends_at <= $4
      AND ($1::text IS NULL OR $1 = ANY (m.funder_codes))
      -- a coarse range the index on starts_at can serve; the exact test is on the local date
      AND m.starts_at >= $2::date - interval '2 days' AND m.starts_at < $3::date + interval '2 days'
      AND (m.starts_at AT TIME ZONE m.timezone)::date BETWEEN $2 AND $3
)"""

# One row per person and meeting in scope: held a seat (a confirmed registration, or one released because the
# person did not come), came (attendance), who they were then, and the record's key for the perturbation.
PRESENCE = """
registered AS (
    SELECT r.meeting_id, r.participant_id
    FROM registrations r JOIN scope s ON s.meeting_id = r.meeting_id
    WHERE r.status = 'confirmed' OR r.end_reason = 'no_show_released'
),
came AS (
    SELECT a.meeting_id, a.participant_id, a.status = 'attended' AS attended,
           a.organisation_code, a.professional_group
    FROM attendance a JOIN scope s ON s.meeting_id = a.meeting_id
),
presence AS (
    SELECT s.meeting_id, s.series_id, s.format, s.themes, s.organiser_codes, s.held_on, s.hours,
           p.id AS participant_id,
           r.participant_id IS NOT NULL AS registered,
           coalesce(c.attended, false) AS attended,
           mh.code AS municipality, mh.province_code, mh.safety_region_code,
           coalesce(c.professional_group, p.professional_group) AS professional_group,
           (p.report_key::bigint + s.meeting_key::bigint + 2147483648) % 2147483647 AS record_key
    FROM registered r
    FULL JOIN came c ON c.meeting_id = r.meeting_id AND c.participant_id = r.participant_id
    JOIN scope s ON s.meeting_id = coalesce(r.meeting_id, c.meeting_id)
    JOIN participants p ON p.id = coalesce(r.participant_id, c.participant_id)
    -- the municipality the person was recorded under, as it was on the meeting's day (or as it is today)
    LEFT JOIN municipality_map mm ON mm.code = coalesce(c.organisation_code, p.organisation_code)
                                 AND s.held_on >= mm.from_on AND s.held_on < mm.to_on
    LEFT JOIN municipality_history mh ON mh.code = CASE WHEN $5 THEN mm.code_today ELSE mm.code_then END
    WHERE r.participant_id IS NOT NULL OR c.attended
)"""

PERSON_MEASURES = """
    count(DISTINCT participant_id) AS persons,
    count(*) FILTER (WHERE registered) AS registrations,
    count(*) FILTER (WHERE attended) AS attended,
    count(*) FILTER (WHERE registered AND NOT attended) AS no_shows,
    count(DISTINCT participant_id) FILTER (WHERE attended) AS unique_participants,
    count(DISTINCT municipality) FILTER (WHERE attended) AS municipalities_reached,
    coalesce(sum(hours) FILTER (WHERE attended), 0)::float8 AS participant_hours,
    count(DISTINCT meeting_id) AS meetings_with_people,
    coalesce(sum(record_key), 0)::bigint AS cell_key"""

# A meeting appears at most once in a cell (only the grouped multi-valued dimensions are unnested), so plain
# counts and sums are right.
MEETING_MEASURES = """
    count(*) AS meetings_held,
    coalesce(sum(capacity), 0)::bigint AS seats_offered,
    coalesce(sum(responses), 0)::bigint AS evaluations,
    coalesce(sum(graded), 0)::bigint AS graded,
    sum(grade_sum)::float8 AS grade_sum"""

# Evaluation answers per meeting. They carry no person (issue 12: anonymous but once), so they belong to meeting
# cells only; a table by municipality or professional group has no evaluation figures.
EVALUATED = """
evaluated AS (
    SELECT r.meeting_id, count(*) AS responses,
           count(*) FILTER (WHERE jsonb_typeof(r.answers -> 'cijfer') = 'number') AS graded,
           sum((r.answers ->> 'cijfer')::numeric) FILTER (WHERE jsonb_typeof(r.answers -> 'cijfer') = 'number')
               AS grade_sum
    FROM evaluation_responses r JOIN scope s ON s.meeting_id = r.meeting_id
    GROUP BY r.meeting_id
)"""


def _grouped(source: str, dims: Sequence[str], all_dims: Sequence[str], measures: str, index: int) -> str:
    """One GROUP BY over `source` for one grouping set; a multi-valued dimension is unnested only when grouped.
    Every part has the same columns: the keys this set leaves out are NULL."""
    joins = "".join(
        f"\n    CROSS JOIN LATERAL unnest(CASE WHEN cardinality({DIMENSIONS[d].unnest}) = 0 THEN ARRAY[NULL::text] "
        f"ELSE {DIMENSIONS[d].unnest} END) AS {d}(value)"
        for d in dims
        if DIMENSIONS[d].unnest
    )
    keys = [f"{DIMENSIONS[d].key} AS k_{d}" if d in dims else f"NULL::text AS k_{d}" for d in all_dims]
    select = ", ".join([f"{index} AS grouping_set", *keys])
    group = f"\nGROUP BY {', '.join(f'k_{d}' for d in dims)}" if dims else ""
    return f"SELECT {select},{measures}\nFROM {source}{joins}{group}"


def _all_dims(sets: Sequence[Sequence[str]]) -> list[str]:
    return sorted({d for dims in sets for d in dims}, key=list(DIMENSIONS).index)


# Marks the row of a multi-valued dimension that stands for "all values" (slugs and codes never contain it).
ALL = "*"


def _expanded(sets: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """The GROUPING SETS to ask for: every set with the multi-valued dimensions added (their ALL row is the set
    without them), without duplicates."""
    multi = [d for d in _all_dims(sets) if DIMENSIONS[d].unnest]
    out: list[tuple[str, ...]] = []
    for dims in sets:
        wanted = tuple(d for d in _all_dims([*sets]) if d in dims or d in multi)
        if wanted not in out:
            out.append(wanted)
    return out


def presence_statement(sets: Sequence[Sequence[str]]) -> str:
    """Person measures for every grouping set (cells, subtotals, total) in one GROUPING SETS pass over presence.

    A meeting counts under each of its themes (organisers) but once in any total, so a multi-valued dimension is
    unnested with one extra ALL value per row: its cells are the real values, and its ALL row is the total over
    it, counted once. GROUPING() tells which keys a row leaves out; person_aggregates maps that back."""
    all_dims = _all_dims(sets)
    head = "WITH" + SCOPE + "," + PRESENCE + "\n"
    if not all_dims:
        return head + f"SELECT 0 AS mask,{PERSON_MEASURES}\nFROM presence"
    joins = "".join(
        f"\nCROSS JOIN LATERAL unnest(CASE WHEN cardinality({DIMENSIONS[d].unnest}) = 0 "
        f"THEN ARRAY[NULL::text, '{ALL}'] ELSE {DIMENSIONS[d].unnest} || '{ALL}'::text END) AS {d}(value)"
        for d in all_dims
        if DIMENSIONS[d].unnest
    )
    keys = ", ".join(f"{DIMENSIONS[d].key} AS k_{d}" for d in all_dims)
    mask = "GROUPING({})".format(", ".join(DIMENSIONS[d].key for d in all_dims))
    groups = ", ".join("(" + ", ".join(DIMENSIONS[d].key for d in s) + ")" for s in _expanded(sets))
    return head + (
        f"SELECT {mask} AS mask, {keys},{PERSON_MEASURES}\nFROM presence{joins}\nGROUP BY GROUPING SETS ({groups})"
    )


def meeting_statement(sets: Sequence[Sequence[str]]) -> str:
    """Meetings held and seats offered for the grouping sets made only of meeting dimensions."""
    source = "scope LEFT JOIN evaluated USING (meeting_id)"
    parts = [_grouped(source, dims, _all_dims(sets), MEETING_MEASURES, i) for i, dims in enumerate(sets)]
    return "WITH" + SCOPE + "," + EVALUATED + "\n" + "\nUNION ALL\n".join(parts)


@dataclass(frozen=True)
class Aggregate:
    grouping_set: int
    keys: dict[str, str | None]
    values: dict[str, Any]


def _to_aggregates(rows: Sequence[Any], sets: Sequence[Sequence[str]]) -> list[Aggregate]:
    out = []
    for r in rows:
        index = r["grouping_set"]
        keys = {d: r[f"k_{d}"] for d in sets[index]}
        values = {k: v for k, v in dict(r).items() if k != "grouping_set" and not k.startswith("k_")}
        out.append(Aggregate(index, keys, values))
    return out


async def person_aggregates(
    conn: Connection, sets: Sequence[Sequence[str]], *, funder: str | None, first: date, last: date,
    now: datetime, today_division: bool,
) -> list[Aggregate]:  # fmt: skip
    rows = await conn.fetch(
        presence_statement(sets), funder, first, last, now, today_division, timeout=STATEMENT_SECONDS
    )
    all_dims = _all_dims(sets)
    out = []
    for r in rows:
        present = [d for j, d in enumerate(all_dims) if not r["mask"] & (1 << (len(all_dims) - 1 - j))]
        dims = tuple(d for d in present if not (DIMENSIONS[d].unnest and r[f"k_{d}"] == ALL))
        values = {k: v for k, v in dict(r).items() if k != "mask" and not k.startswith("k_")}
        index = next(i for i, s in enumerate(sets) if set(s) == set(dims))
        out.append(Aggregate(index, {d: r[f"k_{d}"] for d in sets[index]}, values))
    return out


async def meeting_aggregates(
    conn: Connection, sets: Sequence[Sequence[str]], *, funder: str | None, first: date, last: date, now: datetime
) -> list[Aggregate]:
    rows = await conn.fetch(meeting_statement(sets), funder, first, last, now, timeout=STATEMENT_SECONDS)
    return _to_aggregates(rows, sets)


# Names for the codes in a report, read once per report (small tables).
LABELS = """
SELECT 'province' AS dim, code, name FROM provinces
UNION ALL SELECT 'safety_region', code, name FROM safety_regions
UNION ALL SELECT 'municipality', code, name FROM municipality_history
UNION ALL SELECT 'professional_group', slug, name FROM professional_groups
UNION ALL SELECT 'theme', slug, name FROM themes
UNION ALL SELECT 'organiser', code, name FROM organisations WHERE kind IN ('organiser', 'funder')
UNION ALL SELECT 'series', id::text, title FROM series WHERE id::text = ANY ($1::text[])
UNION ALL SELECT 'meeting', id::text, title || ' (' || to_char((starts_at AT TIME ZONE timezone)::date, 'YYYY-MM-DD')
                 || ')' FROM meetings WHERE id::text = ANY ($2::text[])
"""


async def labels(conn: Connection, series_ids: list[str], meeting_ids: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for r in await conn.fetch(LABELS, series_ids, meeting_ids):
        out.setdefault(r["dim"], {})[r["code"]] = r["name"]
    return out


@dataclass(frozen=True)
class MunicipalityRow:
    code: str
    province_code: str | None
    safety_region_code: str | None
    began_on: date | None
    ended_on: date | None


async def municipalities(conn: Connection) -> list[MunicipalityRow]:
    rows = await conn.fetch(
        "SELECT code, province_code, safety_region_code, began_on, ended_on FROM municipality_history"
    )
    return [MunicipalityRow(**dict(r)) for r in rows]


async def funder_exists(conn: Connection, code: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM organisations WHERE code = $1 AND kind = 'funder'", code))
