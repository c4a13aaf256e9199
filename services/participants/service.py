"""Participants: find-or-create by e-mail, sign-in links, their own profile."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import msgspec

from schemas.auth import Principal
from schemas.events import ParticipantLinkRequested
from schemas.participants import LinkRequested, Participant, ParticipantIn, ParticipantPatch
from services.auth.guards import require_role
from services.db import Connection
from services.errors import NotFound
from services.outbox import emit
from services.participants import queries as q

LINK_SENT = (
    "Als dit adres bij ons bekend is of nieuw is aangemaakt, ontvang je binnen een minuut een e-mail "
    "met je persoonlijke link. Geen mail? Kijk ook in de map met ongewenste e-mail."
)


async def upsert_by_staff(conn: Connection, principal: Principal, data: ParticipantIn) -> tuple[Participant, bool]:
    """Organisers and admins find or create a person to register on their behalf; returns (participant, created).
    Staff vouch for the address. An existing person's details are left as they are: people keep their own data
    up to date.

    An organiser sees the stored record only of people known to its body (q.KNOWN_TO). For anyone else, new or
    not, the answer is what the organiser sent, as "created": it tells them neither whether the address was
    known nor what another body's participant wrote about themselves."""
    require_role(principal, "admin", "organiser")
    participant, created = await q.find_or_create(conn, data, vouched=True)
    if await q.prove(conn, participant.id):
        participant = await me(conn, participant.id)
    if principal.is_admin or created:
        return participant, created
    if principal.organisation_code and await q.known_to(conn, principal.organisation_code, participant.id):
        return participant, False
    return _as_given(participant, data), True


def _as_given(stored: Participant, data: ParticipantIn) -> Participant:
    now = datetime.now(UTC)  # the stored dates would tell how long the person has been known elsewhere
    return msgspec.structs.replace(
        stored,
        created_at=now,
        updated_at=now,
        verified_at=now,
        email=q.normalise_email(data.email),
        name=data.name.strip(),
        organisation_code=data.organisation_code,
        professional_group=data.professional_group,
        locale=data.locale,
        invitation_consent=data.invitation_consent,
    )


async def request_link(conn: Connection, data: ParticipantIn) -> LinkRequested:
    """Anyone: find or create by e-mail and mail a sign-in link. The answer is the same for known and new
    addresses, so it tells nobody whether someone is registered; requests are throttled per person. A new
    participant made this way is unproven (in no audience, details not trusted) until the link is used."""
    participant, created = await q.find_or_create(conn, data)
    if await q.claim_link_request(conn, participant.id):
        await emit(conn, participant.id, ParticipantLinkRequested(participant_id=participant.id, created=created))
    return LinkRequested(detail=LINK_SENT)


async def request_signin(conn: Connection, email: str, *, next_path: str = "") -> LinkRequested:
    """A sign-in link for a known address (the sign-in form). Unknown addresses get the same answer and nothing
    else: no participant is made from an address alone. Throttled per person like request_link."""
    participant_id = await conn.fetchval(
        "SELECT id FROM participants WHERE email = $1 AND erased_at IS NULL", q.normalise_email(email)
    )
    if participant_id is not None and await q.claim_link_request(conn, participant_id):
        await emit(conn, participant_id, ParticipantLinkRequested(participant_id=participant_id, next_path=next_path))
    return LinkRequested(detail=LINK_SENT)


async def me(conn: Connection, participant_id: UUID) -> Participant:
    participant = await q.get(conn, participant_id)
    if participant is None:
        raise NotFound("Deze deelnemer bestaat niet")
    return participant


async def update_me(conn: Connection, participant_id: UUID, patch: ParticipantPatch) -> Participant:
    """Raises InvalidInput for an unknown organisation or professional group."""
    values = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
    if isinstance(values.get("name"), str):
        values["name"] = values["name"].strip()
    if not values:
        return await me(conn, participant_id)
    return await q.update(conn, participant_id, values)
