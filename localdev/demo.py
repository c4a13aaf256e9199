"""Demo data for a first local start: a handful of realistic meetings, made through the real services."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from localdev.demo_registrations import load_demo_registrations
from schemas.meetings import Audience, MeetingIn, Venue
from services.auth.keys import authenticate, create_key
from services.db import Connection
from services.meetings import service as meetings

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# (title, theme, format, days from now, venue city, audience groups)
DEMO_MEETINGS: tuple[tuple[str, str, str, int, str | None, tuple[str, ...]], ...] = (
    ("De bedoeling in de Wmo-toegang", "de-bedoeling", "casuistiekbespreking", 10, "Utrecht", ("wmo-consulent",)),
    ("Vraagverheldering met jongeren", "vraagverheldering", "rollenspel", 17, "Zwolle", ("jeugdconsulent",)),
    ("Netwerkend werken in de wijk", "netwerkend-werken", "leren-op-locatie", 24, "Eindhoven", ("wijkteammedewerker",)),
    ("Intervisie voor leidinggevenden", "zelfsturende-teams", "intervisie", 31, None, ("leidinggevende",)),
    (
        "Zelfsturende teams: wat vraagt dat van HR?",
        "zelfsturende-teams",
        "teamcoaching",
        38,
        "Den Haag",
        ("hr-adviseur",),
    ),
    ("Bestaanszekerheid en schulden", "bestaanszekerheid", "werksessie", 45, "Groningen", ()),
    ("Integraal werken over domeinen heen", "integraal-werken", "casuistiekbespreking", 52, "Arnhem", ()),
    ("Terugblik: de bedoeling in de praktijk", "de-bedoeling", "lezing", 59, None, ()),
)


class DemoResult(msgspec.Struct, kw_only=True):
    meetings: int
    admin_key: str | None = None
    organiser_key: str | None = None


async def load_demo(conn: Connection, *, force: bool = False) -> DemoResult:
    """Load demo meetings once (or again with force); returns the keys it made, shown only now."""
    if not force and await conn.fetchval("SELECT exists(SELECT 1 FROM meetings)"):
        return DemoResult(meetings=0)
    async with conn.transaction():
        admin_key, _ = await create_key(conn, role="admin", organisation_code=None, name="demo beheer")
        organiser_key, _ = await create_key(conn, role="organiser", organisation_code="VNG", name="demo VNG")
        principal = await authenticate(conn, f"Bearer {organiser_key}")
        today = datetime.now(UTC).astimezone(AMSTERDAM).date()
        for title, theme, fmt, days, city, groups in DEMO_MEETINGS:
            start = datetime.combine(today + timedelta(days=days), time(13, 30), AMSTERDAM)
            data = MeetingIn(
                title=title,
                description=f"Collegiale leerbijeenkomst over {theme.replace('-', ' ')}. Neem een casus mee.",
                themes=[theme],
                format=fmt,  # type: ignore[arg-type]
                starts_at=start,
                ends_at=start + timedelta(hours=3),
                venue=Venue(name="Gemeentehuis", address="Markt 1", city=city) if city else None,
                online_url=None if city else "https://meet.example.org/leerkring",
                capacity=25,
                registration_closes_at=start - timedelta(days=2),
                audience=Audience(groups=list(groups)),
                funder_codes=["AOF"],
            )
            meeting = await meetings.create(conn, principal, data)
            await meetings.publish(conn, principal, meeting.id)
        await load_demo_registrations(conn, principal)
    return DemoResult(meetings=len(DEMO_MEETINGS), admin_key=admin_key, organiser_key=organiser_key)
