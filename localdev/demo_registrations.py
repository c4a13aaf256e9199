"""Demo participants and registrations, made through the real services: one meeting full with a waiting list."""

from __future__ import annotations

from schemas.auth import Principal
from schemas.participants import ParticipantIn
from schemas.registrations import RegistrationIn
from services.db import Connection
from services.registrations import service

FIRST = ("Anouk", "Bram", "Chantal", "Daan", "Esra", "Floor", "Gijs", "Hanna", "Imane", "Jeroen", "Kim", "Lars",
         "Mila", "Noah", "Olga", "Pieter", "Rosa", "Sem", "Tess", "Youssef")  # fmt: skip
LAST = ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Yilmaz", "Mulder", "de Boer", "Bos")
MUNICIPALITIES = ("GM0518", "GM0363", "GM0344", "GM0599", "GM0014", "GM0772")
GROUPS = ("wmo-consulent", "jeugdconsulent", "wijkteammedewerker", "beleidsmedewerker", "leidinggevende")
PEOPLE = 30


def demo_participant(n: int) -> ParticipantIn:
    first, last = FIRST[n % len(FIRST)], LAST[(n * 7) % len(LAST)]
    return ParticipantIn(
        email=f"{first.lower()}.{last.replace(' ', '').lower()}{n}@demo.leerkring.nl",
        name=f"{first} {last}",
        organisation_code=MUNICIPALITIES[n % len(MUNICIPALITIES)],
        professional_group=GROUPS[n % len(GROUPS)],
    )


async def load_demo_registrations(conn: Connection, principal: Principal) -> int:
    """Register demo people on behalf of the organiser: the first published meeting fills up and gets a waiting
    list, the next ones get a handful each. Returns how many registrations were made."""
    meetings = await conn.fetch(
        "SELECT id, capacity FROM meetings WHERE status = 'published' AND $1 = ANY(organiser_codes) "
        "ORDER BY starts_at LIMIT 4",
        principal.organisation_code,
    )
    made = 0
    for index, meeting in enumerate(meetings):
        count = min(PEOPLE, meeting["capacity"] + 3) if index == 0 else 3 + index * 2
        for n in range(count):
            await service.register(conn, principal, meeting["id"], RegistrationIn(participant=demo_participant(n)))
            made += 1
    return made
