"""Demo participants, their registrations and the attendance of a meeting that already took place, made through
the real services (an organiser registering people, then marking who came)."""

from __future__ import annotations

from uuid import UUID

from schemas.auth import Principal
from schemas.participants import ParticipantIn
from schemas.registrations import AttendanceMark, Registration, RegistrationIn
from services.attendance import service as attendance
from services.db import Connection
from services.registrations import service

FIRST = ("Anouk", "Bram", "Chantal", "Daan", "Esra", "Floor", "Gijs", "Hanna", "Imane", "Jeroen", "Kim", "Lars",
         "Mila", "Noah", "Olga", "Pieter", "Rosa", "Sem", "Tess", "Youssef")  # fmt: skip
LAST = ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Yilmaz", "Mulder", "de Boer", "Bos")
# Utrecht, Zwolle, Eindhoven, Groningen, Den Haag, Súdwest-Fryslân, Rotterdam, Amsterdam
MUNICIPALITIES = ("GM0344", "GM0193", "GM0772", "GM0014", "GM0518", "GM1900", "GM0599", "GM0363")
GROUPS = ("wmo-consulent", "jeugdconsulent", "wijkteammedewerker", "beleidsmedewerker", "leidinggevende")


def demo_participant(n: int) -> ParticipantIn:
    first, last = FIRST[n % len(FIRST)], LAST[(n * 7) % len(LAST)]
    return ParticipantIn(
        email=f"{first.lower()}.{last.replace(' ', '').lower()}{n}@demo.leerkring.nl",
        name=f"{first} {last}",
        organisation_code=MUNICIPALITIES[n % len(MUNICIPALITIES)],
        professional_group=GROUPS[n % len(GROUPS)],
    )


async def register_people(
    conn: Connection, principal: Principal, meeting_id: UUID, people: range
) -> list[Registration]:
    """Register demo people `people` on behalf of the organiser; past the capacity they join the waiting list."""
    made = []
    for n in people:
        registration, _ = await service.register(
            conn, principal, meeting_id, RegistrationIn(participant=demo_participant(n))
        )
        made.append(registration)
    return made


async def record_attendance(
    conn: Connection, principal: Principal, meeting_id: UUID, registrations: list[Registration], attended: int
) -> None:
    """The organiser's list after the meeting: the first `attended` came, the others did not show up."""
    marks = [
        AttendanceMark(registration_id=r.id, status="attended" if index < attended else "no_show")
        for index, r in enumerate(registrations)
    ]
    await attendance.record(conn, principal, meeting_id, marks)
