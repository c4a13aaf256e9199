"""Demo data for a first local start: a programme as organisers would plan it, always relative to today.

A dozen meetings on working days in the morning (9:30–12:30) or afternoon (13:30–16:30) slot, on the themes and
in the formats of DESIGN.md: two series of three, a full meeting with a waiting list, an online one, and one that
took place last week with its attendance recorded. Everything is made through the real services, so the outbox,
the feeds and the mails (in var/mail) are what a real organiser's work would produce.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec

from localdev.demo_calendar import AMSTERDAM, slot, working_day
from localdev.demo_registrations import record_attendance, register_people
from schemas.auth import Principal
from schemas.meetings import Audience, MeetingFormat, MeetingIn, Venue
from services.auth.keys import authenticate, create_key
from services.db import Connection
from services.meetings import service as meetings

UTRECHT = Venue(name="Stadskantoor Utrecht", address="Stadsplateau 1", city="Utrecht")
ZWOLLE = Venue(name="Stadskantoor Zwolle", address="Lübeckplein 2", city="Zwolle")
EINDHOVEN = Venue(name="Stadhuis Eindhoven", address="Stadhuisplein 10", city="Eindhoven")
GRONINGEN = Venue(name="Wijkcentrum De Wijert", address="Van Lenneplaan 2", city="Groningen")
DEN_HAAG = Venue(name="Stadhuis Den Haag", address="Spui 70", city="Den Haag")
ONLINE = "https://meet.example.org/leerkring"
TEAM = ("leidinggevende", "wijkteammedewerker")
SERIES = {
    "wmo": "Leerkring Wmo-toegang: werken vanuit de bedoeling",
    "teams": "Zelfsturende teams in de praktijk",
}


class Planned(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    themes: tuple[str, ...]
    format: MeetingFormat
    day: int  # working days from today; negative: it took place already
    afternoon: bool
    venue: Venue | None  # None: online
    groups: tuple[str, ...] = ()
    capacity: int = 20
    registered: int = 3
    attended: int = 0  # for a meeting in the past: how many of those registered came
    series: str | None = None
    about: str


PROGRAMME: tuple[Planned, ...] = (
    Planned(title="Terugblik: de bedoeling in de Wmo-toegang", themes=("de-bedoeling",), format="casuistiekbespreking",
            day=-6, afternoon=False, venue=UTRECHT, groups=("wmo-consulent",), registered=10, attended=8,
            about="Wmo-consulenten bespreken casussen waarin de regels en de bedoeling botsten."),
    Planned(title="Vraagverheldering: de vraag achter de vraag", themes=("vraagverheldering",), format="rollenspel",
            day=3, afternoon=False, venue=EINDHOVEN, groups=("jeugdconsulent", "wmo-consulent"), capacity=12,
            registered=16, about="Oefenen met een acteur: doorvragen tot de echte hulpvraag op tafel ligt."),
    Planned(title="Werken vanuit de bedoeling 1: wat vraagt de inwoner?", themes=("de-bedoeling",),
            format="intervisie", day=5, afternoon=True, venue=UTRECHT, groups=("wmo-consulent",), capacity=14,
            registered=6, series="wmo", about="Eerste bijeenkomst van de reeks: ieder brengt een eigen casus in."),
    Planned(title="Zelfsturende teams 1: rollen en verantwoordelijkheden", themes=("zelfsturende-teams",),
            format="teamcoaching", day=8, afternoon=False, venue=ZWOLLE, groups=TEAM,
            capacity=16, registered=5, series="teams", about="Wie besluit wat als er geen teamleider meer is?"),
    Planned(title="Netwerkend werken: op pad met het wijkteam", themes=("netwerkend-werken",),
            format="leren-op-locatie", day=12, afternoon=False, venue=GRONINGEN, groups=("wijkteammedewerker",),
            capacity=15, registered=4, about="Een ochtend mee met het wijkteam, met partners uit zorg en welzijn."),
    Planned(title="Casuïstiekbespreking jeugd: vastgelopen trajecten", themes=("integraal-werken", "de-bedoeling"),
            format="casuistiekbespreking", day=14, afternoon=True, venue=DEN_HAAG, groups=("jeugdconsulent",),
            registered=4, about="Trajecten waarin jeugdhulp, onderwijs en schuldhulp elkaar niet vinden."),
    Planned(title="Bestaanszekerheid: schulden vroeg in beeld", themes=("bestaanszekerheid",), format="werksessie",
            day=17, afternoon=True, venue=None, groups=("schuldhulpverlener", "participatieconsulent"), capacity=30,
            about="Online werksessie over vroegsignalering met woningcorporaties en energieleveranciers."),
    Planned(title="Werken vanuit de bedoeling 2: maatwerk durven leveren", themes=("de-bedoeling",),
            format="intervisie", day=20, afternoon=True, venue=UTRECHT, groups=("wmo-consulent",), capacity=14,
            series="wmo", about="Tweede bijeenkomst: wanneer wijk je af van het beleid, en hoe leg je dat vast?"),
    Planned(title="Zelfsturende teams 2: besluiten zonder leidinggevende", themes=("zelfsturende-teams",),
            format="teamcoaching", day=23, afternoon=False, venue=ZWOLLE, groups=TEAM,
            capacity=16, registered=2, series="teams", about="Werkvormen voor besluiten in het team."),
    Planned(title="Integraal werken over de domeinen heen", themes=("integraal-werken",), format="webinar", day=27,
            afternoon=True, venue=None, capacity=100, about="Webinar met voorbeelden uit drie gemeenten."),
    Planned(title="Werken vanuit de bedoeling 3: terugblik en borging", themes=("de-bedoeling",), format="intervisie",
            day=35, afternoon=True, venue=UTRECHT, groups=("wmo-consulent",), capacity=14, registered=2, series="wmo",
            about="Slotbijeenkomst: wat nemen we mee naar het team?"),
    Planned(title="Zelfsturende teams 3: de rol van HR", themes=("zelfsturende-teams",), format="teamcoaching", day=38,
            afternoon=False, venue=ZWOLLE, groups=("hr-adviseur", "leidinggevende"), capacity=16, registered=2,
            series="teams", about="Wat vraagt zelfsturing van HR-beleid en van de HR-adviseur?"),
)  # fmt: skip
# A meeting in the past cannot be published or registered for: it is planned this much later, filled, and then
# moved back to when it took place (the only thing done here that the API does not offer).
_BACKDATE = timedelta(weeks=8)


class DemoResult(msgspec.Struct, kw_only=True):
    meetings: int
    admin_key: str | None = None
    organiser_key: str | None = None
    funder_key: str | None = None  # A&O fonds: the funder of every demo meeting, so its report has figures


async def _series(conn: Connection, principal: Principal) -> dict[str, UUID]:
    ids = {}
    for key, title in SERIES.items():
        # The same statement as POST /api/v1/series (services/meetings/controllers.py), which has no service.
        ids[key] = await conn.fetchval(
            "INSERT INTO series (title, organiser_code) VALUES ($1, $2) RETURNING id",
            title,
            principal.organisation_code,
        )
    return ids


async def _plan(conn: Connection, principal: Principal, planned: Planned, series: UUID | None, first: int) -> None:
    today = datetime.now(UTC).astimezone(AMSTERDAM).date()
    starts, ends = slot(working_day(today, planned.day), planned.afternoon)
    shift = _BACKDATE if planned.day < 0 else timedelta(0)
    data = MeetingIn(
        title=planned.title,
        description=f"{planned.about} Neem gerust een eigen casus mee.",
        themes=list(planned.themes),
        format=planned.format,
        starts_at=starts + shift,
        ends_at=ends + shift,
        venue=planned.venue,
        online_url=None if planned.venue else ONLINE,
        capacity=planned.capacity,
        registration_closes_at=starts + shift - timedelta(days=1),
        audience=Audience(groups=list(planned.groups)),
        funder_codes=["AOF", "BZK"] if planned.series else ["AOF"],
        series_id=series,
    )
    meeting = await meetings.create(conn, principal, data)
    await meetings.publish(conn, principal, meeting.id)
    registrations = await register_people(conn, principal, meeting.id, range(first, first + planned.registered))
    if shift:
        await conn.execute(
            "UPDATE meetings SET starts_at = starts_at - $2::interval, ends_at = ends_at - $2::interval, "
            "registration_closes_at = registration_closes_at - $2::interval WHERE id = $1",
            meeting.id,
            shift,
        )
        await record_attendance(conn, principal, meeting.id, registrations, planned.attended)


async def load_demo(conn: Connection, *, force: bool = False) -> DemoResult:
    """Load the demo programme once (or again with force); returns the keys it made, shown only now."""
    if not force and await conn.fetchval("SELECT exists(SELECT 1 FROM meetings)"):
        return DemoResult(meetings=0)
    async with conn.transaction():
        admin_key, _ = await create_key(conn, role="admin", organisation_code=None, name="demo beheer")
        organiser_key, _ = await create_key(conn, role="organiser", organisation_code="VNG", name="demo VNG")
        funder_key, _ = await create_key(conn, role="funder", organisation_code="AOF", name="demo A&O fonds")
        principal = await authenticate(conn, f"Bearer {organiser_key}")
        series = await _series(conn, principal)
        first = 0
        for planned in PROGRAMME:
            await _plan(conn, principal, planned, series.get(planned.series or ""), first)
            first = (first + 7) % 40  # overlapping groups of people, as colleagues meet again
    return DemoResult(meetings=len(PROGRAMME), admin_key=admin_key, organiser_key=organiser_key, funder_key=funder_key)
