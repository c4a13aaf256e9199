"""The organiser's exports of one meeting, in Dutch, with organisation and professional group names (not codes):

* registrations: everyone who registered (any state) and everyone who walked in without a seat, with whether
  they came;
* attendance: everyone marked present or absent, walk-ins included and said so.

Only for an organiser of the meeting (or an admin): these are the people related to its own meeting. As CSV or
XLSX through services/sheets.py (safe against formula injection).
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from schemas.auth import Principal
from services.db import Connection
from services.registrations.service import staff_meeting
from services.sheets import Sheet

Kind = Literal["inschrijvingen", "aanwezigheid"]
REGISTRATION_STATUS = {
    "confirmed": "ingeschreven",
    "waitlisted": "op de wachtlijst",
    "offered": "plek aangeboden",
    "cancelled": "afgemeld",
    "declined": "afgemeld",
}
ATTENDANCE_STATUS = {"attended": "aanwezig", "no_show": "niet verschenen"}
METHOD = {"organiser": "door de organisator", "self": "zelf (QR-code)"}
WALK_IN = "inloop (niet ingeschreven)"

_REGISTRATIONS = """
SELECT p.name, p.email, o.name AS organisation, g.name AS profession, r.status, w.rank, r.created_at,
       a.status AS attendance, coalesce(a.walk_in, false) AS walk_in
FROM registrations r
JOIN participants p ON p.id = r.participant_id
LEFT JOIN attendance a ON a.meeting_id = r.meeting_id AND a.participant_id = r.participant_id
LEFT JOIN organisations o ON o.code = p.organisation_code
LEFT JOIN professional_groups g ON g.slug = p.professional_group
LEFT JOIN (
    SELECT id, row_number() OVER (ORDER BY position) AS rank
    FROM registrations WHERE meeting_id = $1 AND status = 'waitlisted'
) w ON w.id = r.id
WHERE r.meeting_id = $1
UNION ALL
-- Walk-ins who never registered: present at the door, so in the list of who came.
SELECT p.name, p.email, o.name, g.name, NULL, NULL, NULL, a.status, true
FROM attendance a
JOIN participants p ON p.id = a.participant_id
LEFT JOIN organisations o ON o.code = p.organisation_code
LEFT JOIN professional_groups g ON g.slug = p.professional_group
WHERE a.meeting_id = $1
  AND NOT EXISTS (
      SELECT 1 FROM registrations r WHERE r.meeting_id = a.meeting_id AND r.participant_id = a.participant_id
  )
ORDER BY 1, 2
"""

_ATTENDANCE = """
SELECT p.name, p.email, o.name AS organisation, g.name AS profession, a.status, a.walk_in, a.method, a.recorded_at
FROM attendance a
JOIN participants p ON p.id = a.participant_id
LEFT JOIN organisations o ON o.code = p.organisation_code
LEFT JOIN professional_groups g ON g.slug = p.professional_group
WHERE a.meeting_id = $1
ORDER BY p.name, p.email
"""


async def registrations(conn: Connection, principal: Principal, meeting_id: UUID) -> Sheet:
    """Raises NotFound, Forbidden."""
    meeting = await staff_meeting(conn, principal, meeting_id)
    zone = ZoneInfo(meeting.timezone)
    rows = await conn.fetch(_REGISTRATIONS, meeting_id)
    return Sheet(
        title="Inschrijvingen",
        columns=[
            "Naam",
            "E-mailadres",
            "Organisatie",
            "Beroepsgroep",
            "Status",
            "Plaats op de wachtlijst",
            "Ingeschreven op",
            "Aanwezig",
            "Inloop",
        ],
        rows=[
            [
                r["name"] or None,
                r["email"],
                r["organisation"],
                r["profession"],
                REGISTRATION_STATUS.get(r["status"], WALK_IN) if r["status"] else WALK_IN,
                r["rank"],
                r["created_at"].astimezone(zone) if r["created_at"] else None,
                ATTENDANCE_STATUS.get(r["attendance"] or "", ""),
                "ja" if r["walk_in"] else "nee",
            ]
            for r in rows
        ],
    )


async def attendance(conn: Connection, principal: Principal, meeting_id: UUID) -> Sheet:
    """Raises NotFound, Forbidden."""
    meeting = await staff_meeting(conn, principal, meeting_id)
    zone = ZoneInfo(meeting.timezone)
    rows = await conn.fetch(_ATTENDANCE, meeting_id)
    return Sheet(
        title="Aanwezigheid",
        columns=[
            "Naam",
            "E-mailadres",
            "Organisatie",
            "Beroepsgroep",
            "Aanwezig",
            "Inloop",
            "Ingecheckt",
            "Tijdstip",
        ],
        rows=[
            [
                r["name"] or None,
                r["email"],
                r["organisation"],
                r["profession"],
                ATTENDANCE_STATUS[r["status"]],
                "ja" if r["walk_in"] else "nee",
                METHOD.get(r["method"], r["method"]),
                r["recorded_at"].astimezone(zone),
            ]
            for r in rows
        ],
    )


async def sheet(conn: Connection, principal: Principal, meeting_id: UUID, kind: Kind) -> Sheet:
    return await (registrations if kind == "inschrijvingen" else attendance)(conn, principal, meeting_id)
