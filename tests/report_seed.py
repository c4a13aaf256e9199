"""A small, hand-countable programme for report tests (all in 2026, Europe/Amsterdam).

AOF funds M1 (15 Jan, 3 h, intervisie, theme de-bedoeling, VNG, series S1, 20 seats),
M2 (10 Feb, 2 h, casuistiekbespreking, themes de-bedoeling + vraagverheldering, VNG + AOF, S1, 10 seats) and
M3 (20 Apr, 3 h, intervisie, no theme, AOF, no series, 15 seats); M5 (cancelled), M6 (draft) and M7 (in 30
days) are AOF's too but never count. BZK funds M4 (20 Jan) only.

People: D1..D8 's-Gravenhage (GM0518, Zuid-Holland, VR15) wmo-consulent; R1..R3 Rotterdam (GM0599, Zuid-Holland,
VR17) jeugdconsulent; A1 Amsterdam (GM0363, Noord-Holland, VR13) wmo-consulent; V1..V5 Voorne aan Zee (GM1992,
Zuid-Holland, VR17) jeugdconsulent; B1..B6 Amsterdam (BZK's meeting only).

M1: D1..D7 registered (D7 marked absent), R1..R3 registered and came, A1 walked in; D8 cancelled beforehand and
    V1 waited in vain (neither counts).
M2: D1..D5 and D8 registered and came; R1 came; R2's seat was released when R2 did not show up.
M3: V1..V5 and A1 registered and came.
M4: B1..B6 and D1 registered and came.
Evaluations: M1 six answers (grades 7 8 8 9 6 8), M2 three (9 9 8).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from services.db import Connection

PEOPLE = {
    **{f"D{i}": ("GM0518", "wmo-consulent") for i in range(1, 9)},
    **{f"R{i}": ("GM0599", "jeugdconsulent") for i in range(1, 4)},
    "A1": ("GM0363", "wmo-consulent"),
    **{f"V{i}": ("GM1992", "jeugdconsulent") for i in range(1, 6)},
    **{f"B{i}": ("GM0363", "beleidsmedewerker") for i in range(1, 7)},
}


def email(person: str) -> str:
    return f"{person.lower()}.geheim@gemeente.example.nl"


def name(person: str) -> str:
    return f"Persoon {person} Vertrouwelijk"


async def meeting(
    conn: Connection, title: str, start: str, hours: int, *, fmt: str = "intervisie", themes: list[str] | None = None,
    organisers: list[str] | None = None, funders: list[str] | None = None, capacity: int = 20,
    series: UUID | None = None, status: str = "published",
) -> UUID:  # fmt: skip
    starts = datetime.fromisoformat(start)
    ends = starts.replace(hour=starts.hour + hours)
    return await conn.fetchval(  # type: ignore[no-any-return]
        """
        INSERT INTO meetings (title, format, themes, starts_at, ends_at, capacity, organiser_codes, funder_codes,
                              series_id, status, published_at, cancelled_at)
        VALUES ($1, $2, $3, $4::timestamptz, $5, $6, $7, $8, $9, $10, $4::timestamptz - interval '30 days',
                CASE WHEN $10 = 'cancelled' THEN $4::timestamptz - interval '1 day' END)
        RETURNING id
        """,
        title, fmt, themes or [], starts, ends, capacity, organisers or ["VNG"], funders or ["AOF"], series, status,
    )  # fmt: skip


async def register(
    conn: Connection, meeting_id: UUID, person: UUID, status: str = "confirmed", end_reason: str | None = None
) -> UUID:
    return await conn.fetchval(  # type: ignore[no-any-return]
        """
        INSERT INTO registrations (id, meeting_id, participant_id, status, position, end_reason)
        VALUES (gen_random_uuid(), $1, $2, $3, CASE WHEN $3 = 'waitlisted' THEN 1 END, $4) RETURNING id
        """,
        meeting_id,
        person,
        status,
        end_reason,
    )


async def attend(
    conn: Connection, meeting_id: UUID, person: UUID, status: str = "attended", *, walk_in: bool = False,
    registration: UUID | None = None,
) -> None:  # fmt: skip
    await conn.execute(
        """
        INSERT INTO attendance (meeting_id, participant_id, registration_id, status, walk_in, method)
        VALUES ($1, $2, $3, $4, $5, 'organiser')
        """,
        meeting_id, person, registration, status, walk_in,
    )  # fmt: skip


class Seed:
    def __init__(self, people: dict[str, UUID], meetings: dict[str, UUID], series: UUID) -> None:
        self.people = people
        self.meetings = meetings
        self.series = series


async def seed(conn: Connection) -> Seed:
    people: dict[str, UUID] = {}
    for person, (org, group) in PEOPLE.items():
        people[person] = await conn.fetchval(
            "INSERT INTO participants (email, name, organisation_code, professional_group) VALUES ($1, $2, $3, $4) "
            "RETURNING id",
            email(person), name(person), org, group,
        )  # fmt: skip
    series = await conn.fetchval("INSERT INTO series (title, organiser_code) VALUES ('Reeks S1', 'VNG') RETURNING id")
    m: dict[str, UUID] = {
        "M1": await meeting(conn, "M1 Intervisie", "2026-01-15T10:00:00+01:00", 3, themes=["de-bedoeling"],
                            series=series, capacity=20),
        "M2": await meeting(conn, "M2 Casuïstiek", "2026-02-10T13:00:00+01:00", 2, fmt="casuistiekbespreking",
                            themes=["de-bedoeling", "vraagverheldering"], organisers=["VNG", "AOF"], series=series,
                            capacity=10),
        "M3": await meeting(conn, "M3 Intervisie", "2026-04-20T09:00:00+02:00", 3, organisers=["AOF"], capacity=15),
        "M4": await meeting(conn, "M4 BZK", "2026-01-20T10:00:00+01:00", 2, funders=["BZK"], capacity=30),
        "M5": await meeting(conn, "M5 Geannuleerd", "2026-03-01T10:00:00+01:00", 2, status="cancelled"),
        "M6": await meeting(conn, "M6 Concept", "2026-03-02T10:00:00+01:00", 2, status="draft"),
        "M7": await meeting(conn, "M7 Later", (datetime.now(UTC) + timedelta(days=30)).replace(hour=9).isoformat(), 2),
    }  # fmt: skip
    p = people
    for d in ("D1", "D2", "D3", "D4", "D5", "D6"):
        await attend(conn, m["M1"], p[d], registration=await register(conn, m["M1"], p[d]))
    await attend(conn, m["M1"], p["D7"], "no_show", registration=await register(conn, m["M1"], p["D7"]))
    for r in ("R1", "R2", "R3"):
        await attend(conn, m["M1"], p[r], registration=await register(conn, m["M1"], p[r]))
    await attend(conn, m["M1"], p["A1"], walk_in=True)
    await register(conn, m["M1"], p["D8"], "cancelled")
    await register(conn, m["M1"], p["V1"], "waitlisted")

    for d in ("D1", "D2", "D3", "D4", "D5", "D8"):
        await attend(conn, m["M2"], p[d], registration=await register(conn, m["M2"], p[d]))
    await attend(conn, m["M2"], p["R1"], registration=await register(conn, m["M2"], p["R1"]))
    released = await register(conn, m["M2"], p["R2"], "cancelled", "no_show_released")
    await attend(conn, m["M2"], p["R2"], "no_show", registration=released)

    for v in ("V1", "V2", "V3", "V4", "V5", "A1"):
        await attend(conn, m["M3"], p[v], registration=await register(conn, m["M3"], p[v]))
    for b in ("B1", "B2", "B3", "B4", "B5", "B6", "D1"):
        await attend(conn, m["M4"], p[b], registration=await register(conn, m["M4"], p[b]))
    # evaluations (anonymous answers, per meeting): M1 six grades, M2 three
    for key, grades in (("M1", (7, 8, 8, 9, 6, 8)), ("M2", (9, 9, 8))):
        await conn.execute(
            "INSERT INTO evaluations (meeting_id, opened_at, closes_at) VALUES ($1, now(), now() + interval '14 days')",
            m[key],
        )
        for grade in grades:
            await conn.execute(
                "INSERT INTO evaluation_responses (meeting_id, answers) VALUES ($1, $2::jsonb)",
                m[key], f'{{"cijfer": {grade}, "tip": "Vrije tekst van een deelnemer"}}',
            )  # fmt: skip
    # people who registered for the meetings that never count
    for key in ("M5", "M6", "M7"):
        for d in ("D1", "D2", "D3", "D4", "D5", "D6"):
            await register(conn, m[key], p[d], "cancelled" if key == "M5" else "confirmed")
    return Seed(people, m, series)
