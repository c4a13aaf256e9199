"""Rules for registering, cancelling, RSVP and answering a seat offer."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from schemas.auth import Principal
from schemas.events import RegistrationConfirmed, RegistrationRsvpChanged
from schemas.participants import ParticipantIn
from schemas.registrations import Registration, RegistrationIn, Rsvp
from services.auth.guards import require_role
from services.db import Connection
from services.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from services.observe.metrics import counts_registrations
from services.outbox import emit
from services.participants import queries as participants
from services.participants.auth import Actor, ParticipantActor
from services.registrations import offers
from services.registrations import queries as q
from services.registrations.admission import take_seat
from services.seats import queries as sq
from services.seats import service as seats
from services.seats.queries import MeetingSeats
from services.seats.rules import ACTIVE


def _organises(principal: Principal, meeting: MeetingSeats) -> bool:
    return principal.is_admin or principal.organisation_code in meeting.organiser_codes


async def staff_meeting(conn: Connection, principal: Principal, meeting_id: UUID) -> MeetingSeats:
    """The meeting, for an organiser of it or an admin. Raises NotFound (also for others' drafts) or Forbidden."""
    require_role(principal, "admin", "organiser")
    meeting = await sq.meeting_seats(conn, meeting_id)
    if meeting is None or (meeting.status == "draft" and not _organises(principal, meeting)):
        raise NotFound("Deze bijeenkomst bestaat niet")
    if not _organises(principal, meeting):
        raise Forbidden("Alleen de organiserende organisaties beheren de inschrijvingen van deze bijeenkomst")
    return meeting


async def _subject(conn: Connection, actor: Actor, data: RegistrationIn) -> UUID:
    """Whom this request registers, proven: the holder of a personal link themselves, or whom staff name."""
    if isinstance(actor, ParticipantActor):
        if data.participant_id not in (None, actor.participant_id) or data.participant is not None:
            raise Forbidden("Met je persoonlijke link kun je alleen jezelf inschrijven", field="participant")
        await participants.prove(conn, actor.participant_id)
        return actor.participant_id
    if data.participant_id is not None:
        # By id only people the body already knows (an admin: anyone); for anyone else the details are the way in,
        # and the answer is the same whether the id exists or not.
        known = actor.is_admin or (
            actor.organisation_code is not None
            and await participants.known_to(conn, actor.organisation_code, data.participant_id)
        )
        if not known or await participants.get(conn, data.participant_id) is None:
            raise InvalidInput(
                "Deze deelnemer is niet bekend bij je organisatie; schrijf in met naam en e-mailadres",
                field="participant_id",
            )
        return data.participant_id
    if data.participant is None:
        raise InvalidInput("Geef participant_id of de gegevens van de deelnemer op", field="participant")
    # Staff registering someone by their details (a walk-in, a phone call) vouch for the address.
    participant, _ = await participants.find_or_create(conn, data.participant, vouched=True)
    await participants.prove(conn, participant.id)
    return participant.id


def anonymous_subject(data: RegistrationIn) -> ParticipantIn:
    """What an anonymous caller must send: their own details, nobody's id. Raises Forbidden, InvalidInput."""
    if data.participant_id is not None:
        raise Forbidden("Alleen organisatoren kunnen een bestaande deelnemer inschrijven", field="participant_id")
    if data.participant is None:
        raise InvalidInput("Geef je gegevens op of gebruik je persoonlijke link", field="participant")
    return data.participant


@counts_registrations
async def register(conn: Connection, actor: Actor, meeting_id: UUID, data: RegistrationIn) -> tuple[Registration, bool]:
    """Register someone whose address is proven (see admission.take_seat); returns (registration, created).
    Anonymous callers go through requests.request instead. Raises NotFound, Forbidden, InvalidInput, Conflict."""
    staff = isinstance(actor, Principal)
    if isinstance(actor, Principal):
        await staff_meeting(conn, actor, meeting_id)
    participant_id = await _subject(conn, actor, data)
    return await take_seat(
        conn,
        meeting_id=meeting_id,
        participant_id=participant_id,
        staff=staff,
        created_by=actor.key_id if isinstance(actor, Principal) else None,
    )


async def _owned(conn: Connection, actor: Actor | None, registration_id: UUID) -> asyncpg.Record:
    """The registration, if the caller is its participant or organises its meeting."""
    row = await q.get(conn, registration_id)
    if row is None:
        raise NotFound("Deze inschrijving bestaat niet")
    if isinstance(actor, ParticipantActor):
        if actor.participant_id != row["participant_id"]:
            raise Forbidden("Dit is niet jouw inschrijving")
    elif isinstance(actor, Principal):
        await staff_meeting(conn, actor, row["meeting_id"])
    else:
        raise NotAuthenticated("Open je inschrijving via je persoonlijke link", field="token")
    return row


async def _lock(conn: Connection, row: asyncpg.Record) -> tuple[MeetingSeats, asyncpg.Record]:
    """Meeting first, then the registration (the lock order of services.registrations.queries)."""
    meeting = await sq.meeting_seats(conn, row["meeting_id"], lock=True)
    locked = await q.get(conn, row["id"], lock=True)
    if meeting is None or locked is None:
        raise NotFound("Deze inschrijving bestaat niet")
    if meeting.ends_at <= datetime.now(UTC) and meeting.status == "published":
        raise Conflict("Deze bijeenkomst is al afgelopen; de inschrijving kan niet meer veranderen", field="ends_at")
    return meeting, locked


async def get(conn: Connection, actor: Actor | None, registration_id: UUID) -> Registration:
    return await q.with_rank(conn, await _owned(conn, actor, registration_id))


async def cancel(conn: Connection, actor: Actor | None, registration_id: UUID) -> Registration:
    """Cancel; the seat goes to the head of the waiting list. Cancelling twice answers the cancelled registration.
    Raises NotFound, Forbidden (someone else's), Conflict (meeting over)."""
    _, row = await _lock(conn, await _owned(conn, actor, registration_id))
    if row["status"] not in ACTIVE:
        return q.to_registration(row)
    reason = "organiser" if isinstance(actor, Principal) else "participant"
    finished = await sq.finish(conn, registration_id, "cancelled", reason)
    await seats.emit_finished(conn, finished, row["status"])
    await seats.fill_free_seats(conn, row["meeting_id"])
    return q.to_registration(finished)


async def rsvp(conn: Connection, actor: Actor | None, registration_id: UUID, value: Rsvp) -> Registration:
    """A confirmed participant says accepted/tentative/declined; declined gives the seat away.
    Raises Conflict when the registration is not confirmed."""
    _, row = await _lock(conn, await _owned(conn, actor, registration_id))
    if row["status"] != "confirmed":
        raise Conflict("Alleen een bevestigde inschrijving kan worden beantwoord", field="rsvp")
    if row["rsvp"] == value:
        return q.to_registration(row)
    ids = {"registration_id": row["id"], "meeting_id": row["meeting_id"], "participant_id": row["participant_id"]}
    if value == "declined":
        updated = await sq.finish(conn, registration_id, "declined", "rsvp_declined")
        await emit(conn, row["meeting_id"], RegistrationRsvpChanged(**ids, rsvp=value))
        await seats.emit_finished(conn, updated, "confirmed")
        await seats.fill_free_seats(conn, row["meeting_id"])
    else:
        updated = await q.set_rsvp(conn, registration_id, value)
        await emit(conn, row["meeting_id"], RegistrationRsvpChanged(**ids, rsvp=value))
    return q.to_registration(updated)


async def answer_offer(
    conn: Connection,
    actor: Actor | None,
    registration_id: UUID,
    action: offers.OfferAction,
    *,
    secret: str,
    offer_token: str | None,
) -> Registration:
    """Accept or decline a held seat, with the signed link from the mail or as its owner (or organiser).
    Raises NotAuthenticated-like Forbidden for a bad link, Conflict when nothing is on offer or it expired."""
    if offer_token is not None:
        if not offers.verify(secret, registration_id, action, offer_token):
            raise Forbidden("Deze link is ongeldig", field="offerToken")
        row = await q.get(conn, registration_id)
        if row is None:
            raise NotFound("Deze inschrijving bestaat niet")
    else:
        row = await _owned(conn, actor, registration_id)
    _, row = await _lock(conn, row)
    if row["status"] != "offered":
        if action == "accept" and row["status"] == "confirmed":
            return q.to_registration(row)
        raise Conflict("Er staat geen plaats voor je klaar", field="status")
    if row["offer_expires_at"] <= datetime.now(UTC):
        raise Conflict("Het aanbod is verlopen; de plaats gaat naar de volgende op de wachtlijst", field="offer")
    if action == "accept":
        updated = await q.confirm_offer(conn, registration_id)
        await sq.refresh_counts(conn, row["meeting_id"])
        await emit(
            conn,
            row["meeting_id"],
            RegistrationConfirmed(
                registration_id=row["id"],
                meeting_id=row["meeting_id"],
                participant_id=row["participant_id"],
                previous_status="offered",
            ),
        )
        return q.to_registration(updated)
    updated = await sq.finish(conn, registration_id, "declined", "offer_declined")
    await seats.emit_finished(conn, updated, "offered")
    await seats.fill_free_seats(conn, row["meeting_id"])
    return q.to_registration(updated)
