"""SQL for participants; rows become Structs here."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from schemas.participants import Participant, ParticipantIn, ParticipantSummary
from services.db import Connection
from services.errors import InvalidInput

COLUMNS = (
    "id, email, name, organisation_code, professional_group, locale, invitation_consent, verified_at, "
    "created_at, updated_at"
)
PROFILE_FIELDS = ("name", "organisation_code", "professional_group", "locale", "invitation_consent")

# Find-or-create in one round trip. A concurrent insert of the same address makes ON CONFLICT wait and then do
# nothing, while the second SELECT still reads the older snapshot and finds nothing: the caller retries once.
# $7: staff vouch for the address (and for the consent the person gave them); otherwise the new row is unproven.
_UPSERT = f"""
WITH ins AS (
    INSERT INTO participants (email, name, organisation_code, professional_group, locale, invitation_consent,
                              consent_changed_at, verified_at)
    VALUES ($1, $2, $3, $4, $5, $6 AND $7, CASE WHEN $6 AND $7 THEN now() END, CASE WHEN $7 THEN now() END)
    ON CONFLICT (email) DO NOTHING
    RETURNING {COLUMNS}, true AS created
)
SELECT * FROM ins
UNION ALL
SELECT {COLUMNS}, false AS created FROM participants WHERE email = $1
LIMIT 1
"""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def to_participant(row: asyncpg.Record) -> Participant:
    return Participant(**{k: row[k] for k in Participant.__struct_fields__})


def to_summary(row: asyncpg.Record, prefix: str = "p_") -> ParticipantSummary:
    return ParticipantSummary(
        id=row[f"{prefix}id"],
        name=row[f"{prefix}name"],
        email=row[f"{prefix}email"],
        organisation_code=row[f"{prefix}organisation_code"],
        professional_group=row[f"{prefix}professional_group"],
    )


async def find_or_create(conn: Connection, data: ParticipantIn, *, vouched: bool = False) -> tuple[Participant, bool]:
    """Returns (participant, created); an existing participant is left as it is. `vouched`: staff vouch for the
    address, so a new row counts as proven. Raises InvalidInput for an unknown organisation or professional group."""
    args = (
        normalise_email(data.email),
        data.name.strip(),
        data.organisation_code,
        data.professional_group,
        data.locale,
        data.invitation_consent,
        vouched,
    )
    for _ in range(2):
        try:
            row = await conn.fetchrow(_UPSERT, *args)
        except asyncpg.ForeignKeyViolationError as exc:
            raise _reference_error(exc) from None
        if row is not None:
            return to_participant(row), bool(row["created"])
    raise RuntimeError("participant upsert found no row twice")


def _reference_error(exc: asyncpg.ForeignKeyViolationError) -> InvalidInput:
    if "professional_group" in str(exc.constraint_name):
        return InvalidInput("Onbekende beroepsgroep", field="participant.professional_group")
    return InvalidInput("Onbekende organisatie", field="participant.organisation_code")


# The relationship that lets an organising body see a person's details: they registered (at some time, in any
# state) for one of its meetings. Being matched by an audience's criteria, or someone typing their address, is not.
KNOWN_TO = """
EXISTS (SELECT 1 FROM registrations g JOIN meetings m ON m.id = g.meeting_id
        WHERE g.participant_id = {participant} AND {organisation} = ANY (m.organiser_codes))
"""


async def known_to(conn: Connection, organisation_code: str, participant_id: UUID) -> bool:
    sql = "SELECT " + KNOWN_TO.format(participant="$2", organisation="$1")
    return bool(await conn.fetchval(sql, organisation_code, participant_id))


async def get(conn: Connection, participant_id: UUID) -> Participant | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM participants WHERE id = $1 AND erased_at IS NULL", participant_id)
    return None if row is None else to_participant(row)


async def prove(conn: Connection, participant_id: UUID) -> bool:
    """The address is shown to be theirs (a confirmed link, staff vouching); True when it was not proven before."""
    row = await conn.fetchrow(
        "UPDATE participants SET verified_at = now(), updated_at = now() "
        "WHERE id = $1 AND verified_at IS NULL AND erased_at IS NULL RETURNING id",
        participant_id,
    )
    return row is not None


async def update(conn: Connection, participant_id: UUID, values: dict[str, Any]) -> Participant:
    """Change profile fields (PROFILE_FIELDS). Raises InvalidInput for an unknown organisation or group."""
    names = [n for n in PROFILE_FIELDS if n in values]
    sets = ", ".join(f"{n} = ${i}" for i, n in enumerate(names, start=2))
    if "invitation_consent" in values:
        sets += ", consent_changed_at = CASE WHEN invitation_consent IS DISTINCT FROM "
        sets += f"${names.index('invitation_consent') + 2} THEN now() ELSE consent_changed_at END"
    try:
        row = await conn.fetchrow(
            f"UPDATE participants SET {sets}, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}",
            participant_id,
            *(values[n] for n in names),
        )
    except asyncpg.ForeignKeyViolationError as exc:
        error = _reference_error(exc)
        raise InvalidInput(error.detail, field=error.errors[0].field.removeprefix("participant.")) from None
    if row is None:
        raise RuntimeError("participant vanished while locked")
    return to_participant(row)


async def claim_link_request(conn: Connection, participant_id: UUID) -> bool:
    """True when no manage link was requested in the last 10 minutes (and records this request)."""
    row = await conn.fetchrow(
        """
        UPDATE participants SET link_requested_at = now()
        WHERE id = $1 AND erased_at IS NULL
          AND (link_requested_at IS NULL OR link_requested_at < now() - interval '10 minutes')
        RETURNING id
        """,
        participant_id,
    )
    return row is not None


async def anonymise(conn: Connection, participant_id: UUID) -> asyncpg.Record | None:
    """Blank name and address, keep organisation and group (funder reports count attendance by them)."""
    return await conn.fetchrow(
        """
        UPDATE participants
        SET email = 'gewist+' || id::text || '@invalid', name = 'Gewist', erased_at = now(), updated_at = now(),
            link_requested_at = NULL
        WHERE id = $1 AND erased_at IS NULL
        RETURNING erased_at, email
        """,
        participant_id,
    )
