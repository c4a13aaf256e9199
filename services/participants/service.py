"""Participants: find-or-create by e-mail, their own data, export and erasure."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import msgspec

from schemas.auth import Principal
from schemas.events import ParticipantErased, ParticipantLinkRequested
from schemas.participants import Erased, LinkRequested, Participant, ParticipantIn, ParticipantPatch
from schemas.registrations import Attendance, ParticipantExport
from services.auth.guards import require_role
from services.db import Connection
from services.errors import NotFound
from services.outbox import emit
from services.participants import queries as q
from services.participants import tokens
from services.registrations import queries as rq
from services.registrations import seats
from services.registrations.listing import for_participant

LINK_SENT = (
    "Als dit adres bij ons bekend is of nieuw is aangemaakt, ontvangt u binnen enkele minuten een e-mail "
    "met uw persoonlijke link."
)


async def upsert_by_staff(conn: Connection, principal: Principal, data: ParticipantIn) -> tuple[Participant, bool]:
    """Organisers and admins find or create a person to register on their behalf; returns (participant, created).
    An existing person's details are left as they are: people keep their own data up to date."""
    require_role(principal, "admin", "organiser")
    return await q.find_or_create(conn, data)


async def request_link(conn: Connection, data: ParticipantIn) -> LinkRequested:
    """Anyone: find or create by e-mail and mail a manage link. The answer is the same for known and new
    addresses, so it tells nobody whether someone is registered; requests are throttled per person."""
    participant, created = await q.find_or_create(conn, data)
    if await q.claim_link_request(conn, participant.id):
        await emit(conn, participant.id, ParticipantLinkRequested(participant_id=participant.id, created=created))
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


async def export(conn: Connection, participant_id: UUID) -> ParticipantExport:
    """Everything we hold about the caller, in one document."""
    participant = await me(conn, participant_id)
    registrations = await for_participant(conn, participant_id, cursor=None, limit=None)
    rows = await conn.fetch(
        """
        SELECT meeting_id, participant_id, registration_id, status, walk_in, method, recorded_at
        FROM attendance WHERE participant_id = $1 ORDER BY recorded_at
        """,
        participant_id,
    )
    return ParticipantExport(
        participant=participant,
        registrations=registrations.items,
        attendance=[Attendance(**dict(r)) for r in rows],
        tokens=await tokens.list_tokens(conn, participant_id),
        exported_at=datetime.now(UTC),
    )


async def erase(conn: Connection, participant_id: UUID) -> Erased:
    """Right to erasure: active registrations are cancelled (their seats move on), every token is revoked and
    name and address are blanked. Attendance stays, anonymous, because funder reports count it."""
    active = await conn.fetch(
        "SELECT id, meeting_id FROM registrations WHERE participant_id = $1 AND status = ANY($2::text[]) "
        "ORDER BY meeting_id",
        participant_id,
        ["confirmed", "waitlisted", "offered"],
    )
    # Meetings in id order: two erasures touching the same meetings lock them in the same order.
    for row in active:
        await rq.meeting_seats(conn, row["meeting_id"], lock=True)
        current = await rq.get(conn, row["id"], lock=True)
        if current is None or current["status"] not in ("confirmed", "waitlisted", "offered"):
            continue
        finished = await rq.finish(conn, row["id"], "cancelled", "erased")
        await seats.emit_finished(conn, finished, current["status"])
        await seats.fill_free_seats(conn, row["meeting_id"])
    await tokens.revoke_all(conn, participant_id)
    erased = await q.anonymise(conn, participant_id)
    if erased is None:
        raise NotFound("Deze deelnemer bestaat niet")
    await emit(conn, participant_id, ParticipantErased(participant_id=participant_id))
    return Erased(erased_at=erased["erased_at"], cancelled_registrations=len(active))
