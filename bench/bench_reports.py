"""Funder reports over 1M registrations: the full report (HTTP, disclosure control, rendering) against the bare
SQL the same figures need, same database, same run.

    .venv/bin/python bench/bench_reports.py [--registrations 1000000] [--rounds 5]

Loads a scratch database with COPY: 20,000 meetings over 2024-2026 (60 % funded by AOF, 50 % by BZK), 100,000
participants spread over all 342 municipalities and 8 professional groups, `--registrations` registrations
(95 % confirmed) with attendance for 85 % of them and 3 % walk-ins. Then, per scenario, alternating:

* report: `GET /api/v1/reports/attendance` through the ASGI app in-process (Litestar, the request transaction,
  the report SQL, suppression and noise, JSON or XLSX encoding) with a funder or admin key;
* bare: one hand-written GROUPING SETS query over the same tables giving the same true figures (no history map,
  no record keys, no rendering), on a plain asyncpg connection.

Prints the median of `--rounds` for both and the ratio report / bare (the aim: at most 2).

PostgreSQL: LEERKRING_BENCH_DATABASE_URL (an admin DSN; a scratch database is created and dropped) or
127.0.0.1:5432 as user postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from litestar.testing import AsyncTestClient  # noqa: E402

from bench.results import record  # noqa: E402
from services.app import create_app  # noqa: E402
from services.auth.keys import create_key  # noqa: E402
from services.db import connect  # noqa: E402
from services.migrate import migrate  # noqa: E402
from services.organisations.importer import import_reference_data  # noqa: E402
from services.settings import Settings  # noqa: E402

MEETINGS = 20_000
PARTICIPANTS = 100_000
GROUPS = ("wmo-consulent", "jeugdconsulent", "wijkteammedewerker", "beleidsmedewerker", "leidinggevende",
          "hr-adviseur", "participatieconsulent", "schuldhulpverlener")  # fmt: skip
THEMES = ("de-bedoeling", "vraagverheldering", "netwerkend-werken", "zelfsturende-teams", "integraal-werken")
FORMATS = ("intervisie", "casuistiekbespreking", "training", "werksessie")

# The figures every scenario needs, written the plain way: registrations and attendance joined per person and
# meeting, grouped with GROUPING SETS (cells and total) in one statement.
BARE_FACTS = """
WITH held AS (
    SELECT m.id, m.starts_at, m.ends_at, m.themes FROM meetings m
    WHERE m.status = 'published' AND m.ends_at <= now() AND {scope}
      AND (m.starts_at AT TIME ZONE m.timezone)::date BETWEEN $1 AND $2
),
facts AS (
    SELECT h.id AS meeting_id, h.starts_at, h.ends_at, h.themes, p.id AS participant_id,
           p.organisation_code, p.professional_group,
           r.participant_id IS NOT NULL AS registered, coalesce(a.status = 'attended', false) AS attended
    FROM (SELECT r.meeting_id, r.participant_id FROM registrations r JOIN held ON held.id = r.meeting_id
          WHERE r.status = 'confirmed' OR r.end_reason = 'no_show_released') r
    FULL JOIN (SELECT a.* FROM attendance a JOIN held ON held.id = a.meeting_id) a
           ON a.meeting_id = r.meeting_id AND a.participant_id = r.participant_id
    JOIN held h ON h.id = coalesce(r.meeting_id, a.meeting_id)
    JOIN participants p ON p.id = coalesce(r.participant_id, a.participant_id)
    WHERE r.participant_id IS NOT NULL OR a.status = 'attended'
)
"""
MEASURES = """
    count(*) FILTER (WHERE registered) AS registrations,
    count(*) FILTER (WHERE attended) AS attended,
    count(*) FILTER (WHERE registered AND NOT attended) AS no_shows,
    count(DISTINCT participant_id) AS persons,
    count(DISTINCT participant_id) FILTER (WHERE attended) AS unique_participants,
    count(DISTINCT organisation_code) FILTER (WHERE attended) AS municipalities,
    sum(extract(epoch FROM ends_at - starts_at) / 3600) FILTER (WHERE attended) AS hours,
    count(DISTINCT meeting_id) AS meetings
"""
BARE = {
    "month": BARE_FACTS
    + f"""
SELECT to_char(starts_at AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM') AS month, {MEASURES}
FROM facts GROUP BY GROUPING SETS ((1), ())""",
    "municipality": BARE_FACTS
    + f"""
SELECT organisation_code, {MEASURES} FROM facts GROUP BY GROUPING SETS ((1), ())""",
    "month,professional_group": BARE_FACTS
    + f"""
SELECT to_char(starts_at AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM') AS month, professional_group, {MEASURES}
FROM facts GROUP BY GROUPING SETS ((1, 2), (1), (2), ())""",
    # a meeting counts under each of its themes, and once in the total
    "theme": BARE_FACTS
    + f"""
SELECT theme, {MEASURES} FROM facts CROSS JOIN LATERAL unnest(themes) AS theme GROUP BY theme
UNION ALL
SELECT NULL, {MEASURES} FROM facts""",
}

# (name, role, groupBy, from, to, format)
SCENARIOS = (
    ("AOF, 3 years, by month", "funder", "month", "2024-01-01", "2026-12-31", "json"),
    ("AOF, 2026, by municipality", "funder", "municipality", "2026-01-01", "2026-12-31", "json"),
    ("AOF, 3 years, month x group", "funder", "month,professional_group", "2024-01-01", "2026-12-31", "json"),
    ("all, 3 years, by theme", "admin", "theme", "2024-01-01", "2026-12-31", "json"),
    ("AOF, 3 years, by month, xlsx", "funder", "month", "2024-01-01", "2026-12-31", "xlsx"),
)


async def load(conn: asyncpg.Connection, registrations: int) -> None:
    rng = random.Random(13)
    towns = [r["code"] for r in await conn.fetch("SELECT code FROM organisations WHERE kind = 'municipality'")]
    start = datetime(2024, 1, 8, 9, tzinfo=UTC)
    meetings = []
    for i in range(MEETINGS):
        starts = start + timedelta(days=rng.randrange(0, 3 * 365 - 40), hours=rng.choice((0, 4)))
        funders = ["AOF"] if rng.random() < 0.5 else ["BZK"]
        if rng.random() < 0.1:
            funders = ["AOF", "BZK"]
        meetings.append((
            uuid.uuid4(), f"Bijeenkomst {i}", rng.choice(FORMATS), rng.sample(THEMES, rng.choice((1, 1, 2))),
            starts, starts + timedelta(hours=rng.choice((2, 3))), 60, ["VNG"], funders, "published", starts,
        ))  # fmt: skip
    await conn.copy_records_to_table(
        "meetings", records=meetings,
        columns=["id", "title", "format", "themes", "starts_at", "ends_at", "capacity", "organiser_codes",
                 "funder_codes", "status", "published_at"],
    )  # fmt: skip
    people = [
        (uuid.uuid4(), f"p{i}@bench.example.nl", f"Deelnemer {i}", rng.choice(towns), rng.choice(GROUPS))
        for i in range(PARTICIPANTS)
    ]
    await conn.copy_records_to_table(
        "participants", records=people, columns=["id", "email", "name", "organisation_code", "professional_group"]
    )
    per_meeting = registrations // MEETINGS
    regs, attendance = [], []
    for m in meetings:
        chosen = rng.sample(people, per_meeting + 2)
        for p in chosen[:per_meeting]:
            rid = uuid.uuid4()
            confirmed = rng.random() < 0.95
            regs.append((rid, m[0], p[0], "confirmed" if confirmed else "cancelled"))
            if confirmed and rng.random() < 0.85:
                attendance.append((m[0], p[0], rid, "attended", False, "organiser", p[3], p[4]))
        for p in chosen[per_meeting:]:
            if rng.random() < 0.75:
                attendance.append((m[0], p[0], None, "attended", True, "self", p[3], p[4]))
    await conn.copy_records_to_table(
        "registrations", records=regs, columns=["id", "meeting_id", "participant_id", "status"]
    )
    await conn.copy_records_to_table(
        "attendance", records=attendance,
        columns=["meeting_id", "participant_id", "registration_id", "status", "walk_in", "method",
                 "organisation_code", "professional_group"],
    )  # fmt: skip
    await conn.execute("ANALYZE")
    print(f"loaded {len(meetings):,} meetings, {len(people):,} participants, {len(regs):,} registrations, "
          f"{len(attendance):,} attendance rows")  # fmt: skip


async def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser()
    parser.add_argument("--registrations", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", metavar="NAME", help="load into database NAME once and keep it (for EXPLAIN)")
    args = parser.parse_args()
    admin_dsn = os.environ.get("LEERKRING_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = args.keep or f"lk_bench_reports_{os.getpid()}"
    admin = await asyncpg.connect(admin_dsn)
    exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    if not exists:
        await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = admin_dsn.rsplit("/", 1)[0] + "/" + name
    try:
        conn = await connect(dsn)
        await migrate(conn)
        await import_reference_data(conn)
        if not exists:
            began = time.perf_counter()
            await load(conn, args.registrations)
            print(f"load took {time.perf_counter() - began:.1f}s")
        funder_key, _ = await create_key(conn, role="funder", organisation_code="AOF")
        admin_key, _ = await create_key(conn, role="admin", organisation_code=None)
        settings = Settings(database_url=dsn, redis_url="redis://127.0.0.1:6379/15", secret_key="bench")  # noqa: S106
        async with AsyncTestClient(app=create_app(settings), timeout=600) as client:
            print(f"\n{'scenario':34} {'report s':>9} {'bare s':>9} {'ratio':>6}")
            for label, role, group, first, last, fmt in SCENARIOS:
                key = funder_key if role == "funder" else admin_key
                params = {"from": first, "to": last, "groupBy": group, "format": fmt}
                scope = "'AOF' = ANY (m.funder_codes)" if role == "funder" else "true"
                bare_sql = BARE[group].format(scope=scope)
                lo, hi = date.fromisoformat(first), date.fromisoformat(last)

                async def report(key: str = key, params: dict[str, str] = params) -> None:
                    answer = await client.get(
                        "/api/v1/reports/attendance", params=params, headers={"Authorization": f"Bearer {key}"}
                    )
                    assert answer.status_code == 200, answer.text

                async def bare(sql: str = bare_sql, lo: date = lo, hi: date = hi) -> None:
                    await conn.fetch(sql, lo, hi)

                await report()
                await bare()  # warm both: plans, caches
                times: dict[str, list[float]] = {"report": [], "bare": []}
                for _ in range(args.rounds):
                    for kind, run in (("report", report), ("bare", bare)):
                        t = time.perf_counter()
                        await run()
                        times[kind].append(time.perf_counter() - t)
                r, b = statistics.median(times["report"]), statistics.median(times["bare"])
                print(f"{label:34} {r:9.3f} {b:9.3f} {r / b:6.2f}")
                record(f"funder report: {label.strip()} vs bare SQL", r, b, unit="s", aim=2, better="lower")
        await conn.close()
    finally:
        if not args.keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
