"""Reading registrations: the organiser's list and CSV export, and a participant's own list."""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from schemas.auth import Principal
from schemas.common import Page
from schemas.registrations import MeetingSummary, MyRegistration, RegistrationListItem
from services.db import Connection
from services.meetings.queries import effective_status
from services.pagination import RowId, decode_cursor, encode_cursor
from services.participants.queries import to_summary
from services.registrations import queries as q
from services.registrations.service import staff_meeting
from services.seats.queries import R_COLUMNS

CSV_COLUMNS = (
    "inschrijving",
    "status",
    "wachtlijstnummer",
    "plaats_op_wachtlijst",
    "naam",
    "e-mail",
    "organisatie",
    "beroepsgroep",
    "rsvp",
    "aanwezigheid",
    "bron",
    "ingeschreven_op",
    "geannuleerd_op",
    "reden",
)


def listing_filters(**f: Any) -> tuple[str, list[Any]]:
    """WHERE clauses for an organiser's list; values travel as parameters after $1 (the meeting)."""
    clauses, params = [], []
    for column, value in (
        ("r.status", f.get("status")),
        ("p.organisation_code", f.get("organisation")),
        ("p.professional_group", f.get("professional_group")),
    ):
        if value is not None:
            params.append(value)
            clauses.append(f"{column} = ${len(params) + 1}")
    if f.get("search"):
        params.append(f"%{f['search']}%")
        clauses.append(f"(p.name ILIKE ${len(params) + 1} OR p.email ILIKE ${len(params) + 1})")
    if f.get("after") is not None:
        params.append(f["after"])
        clauses.append(f"r.n > ${len(params) + 1}")
    return "".join(f" AND {c}" for c in clauses), params


async def list_for_meeting(
    conn: Connection, meeting_id: UUID, limit: int | None, **filters: Any
) -> list[asyncpg.Record]:
    """An organiser's view, in registration order; `rank` is the place in the whole queue, whatever the filters."""
    where, params = listing_filters(**filters)
    params.append(limit)  # LIMIT NULL means no limit (the CSV export)
    return await conn.fetch(
        f"""
        SELECT {R_COLUMNS}, r.n, w.rank,
               p.id AS p_id, p.name AS p_name, p.email AS p_email, p.organisation_code AS p_organisation_code,
               p.professional_group AS p_professional_group, a.status AS attendance
        FROM registrations r
        JOIN participants p ON p.id = r.participant_id
        LEFT JOIN attendance a ON a.meeting_id = r.meeting_id AND a.participant_id = r.participant_id
        LEFT JOIN (
            SELECT id, row_number() OVER (ORDER BY position) AS rank
            FROM registrations WHERE meeting_id = $1 AND status = 'waitlisted'
        ) w ON w.id = r.id
        WHERE r.meeting_id = $1{where}
        ORDER BY r.n
        LIMIT ${len(params) + 1}
        """,
        meeting_id,
        *params,
    )


def _item(row: asyncpg.Record) -> RegistrationListItem:
    base = q.to_registration(row, row["rank"])
    return RegistrationListItem(
        **{f: getattr(base, f) for f in base.__struct_fields__},
        participant=to_summary(row),
        attendance=row["attendance"],
    )


async def for_meeting(
    conn: Connection, principal: Principal, meeting_id: UUID, *, cursor: str | None, limit: int, **filters: Any
) -> Page[RegistrationListItem]:
    """Registrations in arrival order (the waiting list is that order too). Raises NotFound, Forbidden."""
    await staff_meeting(conn, principal, meeting_id)
    after = decode_cursor(cursor, tuple[RowId])
    rows = await list_for_meeting(conn, meeting_id, limit + 1, after=after[0] if after else None, **filters)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=[_item(r) for r in rows], next_cursor=encode_cursor(rows[-1]["n"]) if more and rows else None)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell that starts like a formula would run in Excel (CSV injection): make it plain text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def csv_export(conn: Connection, principal: Principal, meeting_id: UUID, **filters: Any) -> str:
    """All registrations as CSV for Dutch Excel: semicolons, UTF-8 with a byte-order mark, times in the meeting's
    zone. Raises NotFound, Forbidden."""
    meeting = await staff_meeting(conn, principal, meeting_id)
    rows = await list_for_meeting(conn, meeting_id, None, after=None, **filters)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    zone = ZoneInfo(meeting.timezone)
    for r in rows:
        writer.writerow(
            _cell(v)
            for v in (
                r["id"],
                r["status"],
                r["position"] if r["status"] == "waitlisted" else None,  # a promoted person has no number
                r["rank"],
                r["p_name"],
                r["p_email"],
                r["p_organisation_code"],
                r["p_professional_group"],
                r["rsvp"],
                r["attendance"],
                r["source"],
                r["created_at"].astimezone(zone).isoformat(timespec="seconds"),
                r["cancelled_at"].astimezone(zone).isoformat(timespec="seconds") if r["cancelled_at"] else None,
                r["end_reason"],
            )
        )
    return out.getvalue()


async def for_participant(
    conn: Connection, participant_id: UUID, *, cursor: str | None, limit: int | None
) -> Page[MyRegistration]:
    """A participant's own registrations, newest first, with the meeting they are for."""
    after = decode_cursor(cursor, tuple[RowId])
    rows = await conn.fetch(
        f"""
        SELECT {R_COLUMNS}, r.n,
               m.title, m.starts_at, m.ends_at, m.timezone, m.status AS meeting_status,
               CASE WHEN r.status = 'waitlisted' THEN (
                   SELECT count(*) FROM registrations w
                   WHERE w.meeting_id = r.meeting_id AND w.status = 'waitlisted' AND w.position <= r.position
               ) END AS rank
        FROM registrations r JOIN meetings m ON m.id = r.meeting_id
        WHERE r.participant_id = $1 AND ($2::bigint IS NULL OR r.n < $2)
        ORDER BY r.n DESC
        LIMIT $3
        """,
        participant_id,
        int(after[0]) if after else None,
        None if limit is None else limit + 1,
    )
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if limit is not None else rows
    items = []
    for r in rows:
        base = q.to_registration(r, r["rank"])
        zone = ZoneInfo(r["timezone"])
        items.append(
            MyRegistration(
                **{f: getattr(base, f) for f in base.__struct_fields__},
                meeting=MeetingSummary(
                    id=r["meeting_id"],
                    title=r["title"],
                    starts_at=r["starts_at"].astimezone(zone),
                    ends_at=r["ends_at"].astimezone(zone),
                    timezone=r["timezone"],
                    status=effective_status(r["meeting_status"], r["ends_at"]),
                ),
            )
        )
    return Page(items=items, next_cursor=encode_cursor(rows[-1]["n"]) if more and rows else None)
