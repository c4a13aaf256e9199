"""The history of the municipal division: which municipalities merged into which, and when.

Reports count reach by the municipality as it was on the meeting's date and can roll that up to today's division.
`data/municipality_changes.csv` lists every change we could source (one row per municipality that ended); the
current division comes from `data/municipalities.csv`. From both, `municipality_map` is rebuilt: for a recorded
code and a day, the municipality of that day and the one it belongs to today.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from importlib import resources

from services.db import Connection

# Open ends of the ranges in municipality_map (dates, so no infinity handling is needed anywhere).
BEGINNING = date(1800, 1, 1)
END = date(9999, 12, 31)


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    province_code: str | None
    safety_region_code: str | None
    began_on: date | None
    ended_on: date | None
    successor_code: str | None


def _rows(name: str) -> list[dict[str, str]]:
    text = (resources.files("services.organisations") / "data" / name).read_text(encoding="utf-8")
    return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def load_history() -> dict[str, Municipality]:
    """Every municipality in the shipped history, current and ended. Raises ValueError for an inconsistent file."""
    current = {r["cbs_code"]: r for r in _rows("municipalities.csv")}
    changes = _rows("municipality_changes.csv")
    began: dict[str, date] = {}
    for c in changes:
        if c["new_code_formed"] == "yes":
            day = date.fromisoformat(c["effective_on"])
            began[c["new_code"]] = min(day, began.get(c["new_code"], day))
    out = {
        code: Municipality(code, r["name"], r["province"] or None, r["safety_region_code"] or None, began.get(code),
                           None, None)
        for code, r in current.items()
    }  # fmt: skip
    for c in changes:
        if c["old_code"] in current:
            raise ValueError(f"{c['old_code']} ended but is still in the current division")
        out[c["old_code"]] = Municipality(
            c["old_code"], c["old_name"], None, None, None, date.fromisoformat(c["effective_on"]), c["new_code"]
        )
    # An ended municipality lies in the province and safety region of what it became (mergers stay within both).
    resolved: dict[str, Municipality] = {}
    for code, m in out.items():
        final = out[today_code(out, code)]
        resolved[code] = Municipality(
            m.code, m.name, final.province_code, final.safety_region_code, m.began_on, m.ended_on, m.successor_code
        )
    return resolved


def today_code(history: dict[str, Municipality], code: str) -> str:
    """Follow the successors of `code` to today's municipality. Raises ValueError on a loop or an unknown code."""
    seen: set[str] = set()
    while history[code].successor_code is not None:
        if code in seen:
            raise ValueError(f"loop in the municipal history at {code}")
        seen.add(code)
        successor = history[code].successor_code
        if successor is None or successor not in history:
            raise ValueError(f"unknown successor {successor} of {code}")
        code = successor
    return code


def map_rows(history: dict[str, Municipality]) -> list[tuple[str, date, date, str, str]]:
    """(recorded code, from, to, municipality then, municipality today) for every step of every chain."""
    rows: list[tuple[str, date, date, str, str]] = []
    for code in sorted(history):
        final = today_code(history, code)
        start, current = BEGINNING, code
        while (m := history[current]).ended_on is not None and m.successor_code is not None:
            rows.append((code, start, m.ended_on, current, final))
            start, current = m.ended_on, m.successor_code
        rows.append((code, start, END, current, final))
    return rows


async def import_history(conn: Connection) -> None:
    """Upsert municipality_history and rebuild municipality_map; the caller holds the transaction."""
    history = load_history()
    await conn.executemany(
        """
        INSERT INTO municipality_history
            (code, name, province_code, safety_region_code, began_on, ended_on, successor_code)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (code) DO UPDATE SET name = excluded.name, province_code = excluded.province_code,
            safety_region_code = excluded.safety_region_code, began_on = excluded.began_on,
            ended_on = excluded.ended_on, successor_code = excluded.successor_code
        """,
        [
            (m.code, m.name, m.province_code, m.safety_region_code, m.began_on, m.ended_on, m.successor_code)
            for m in history.values()
        ],
    )
    await conn.execute("DELETE FROM municipality_map")
    await conn.copy_records_to_table(
        "municipality_map", records=map_rows(history), columns=["code", "from_on", "to_on", "code_then", "code_today"]
    )
