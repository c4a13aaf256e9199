"""Rules for registering, cancelling, RSVP and answering a seat offer."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg

from schemas.auth import Principal
from schemas.events import RegistrationConfirmed, RegistrationRsvpChanged
from schemas.registrations import Registration, RegistrationIn, Rsvp
from services.auth.guards import require_role
from services.db import Connection
from services.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from services.outbox import emit
from services.participants import queries as participants
from services.participants.auth import Actor, ParticipantActor
from services.registrations import offers, seats
from services.registrations import queries as q
from services.registrations.queries import MeetingSeats
from services.registrations.reserve import reserve
from services.registrations.rules import ACTIVE

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")  # fmt: skip


def dutch_time(value: datetime, zone: str) -> str:
    local = value.astimezone(ZoneInfo(zone))
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} om {local:%H:%M}"


def _organises(principal: Principal, meeting: MeetingSeats) -> bool:
    return principal.is_admin or principal.organisation_code in meeting.organiser_codes


async def staff_meeting(conn: Connection, principal: Principal, meeting_id: UUID) -> MeetingSeats:
    """The meeting, for an organiser of it or an admin. Raises NotFound (also for others' drafts) or Forbidden."""
    require_role(principal, "admin", "organiser")
    meeting = await q.meeting_seats(conn, meeting_id)
    if meeting is None or (meeting.status == "draft" and not _organises(principal, meeting)):
        raise NotFound("Deze bijeenkomst bestaat niet")
    if not _organises(principal, meeting):
        raise Forbidden("Alleen de organiserende organisaties beheren de inschrijvingen van deze bijeenkomst")
    return meeting


async def _subject(conn: Connection, actor: Actor | None, data: RegistrationIn) -> UUID:
    """Whom this request registers; anonymous callers name themselves by their details."""
    if isinstance(actor, ParticipantActor):
        if data.participant_id not in (None, actor.participant_id) or data.participant is not None:
            raise Forbidden("Met uw persoonlijke link kunt u alleen uzelf inschrijven", field="participant")
        return actor.participant_id
    if isinstance(actor, Principal) and data.participant_id is not None:
        if await participants.get(conn, data.participant_id) is None:
            raise InvalidInput("Deze deelnemer bestaat niet", field="participant_id")
        return data.participant_id
    if data.participant_id is not None:
        raise Forbidden("Alleen organisatoren kunnen een bestaande deelnemer inschrijven", field="participant_id")
    if data.participant is None:
        if isinstance(actor, Principal):
            raise InvalidInput("Geef participant_id of de gegevens van de deelnemer op", field="participant")
        raise InvalidInput("Geef uw gegevens op of gebruik uw persoonlijke link", field="participant")
    participant, _ = await participants.find_or_create(conn, data.participant)
    return participant.id


async def register(
    conn: Connection, actor: Actor | None, meeting_id: UUID, data: RegistrationIn
) -> tuple[Registration, bool]:
    """Register; confirmed while seats last, waitlisted after. Returns (registration, created): registering twice
    returns the active registration. Raises NotFound, Forbidden, InvalidInput, Conflict (closed, full)."""
    staff = isinstance(actor, Principal)
    if isinstance(actor, Principal):
        await staff_meeting(conn, actor, meeting_id)
    participant_id = await _subject(conn, actor, data)
    row = await reserve(
        conn,
        meeting_id=meeting_id,
        registration_id=uuid4(),
        participant_id=participant_id,
        any_time=staff,
        source="organiser" if staff else "self",
        created_by=actor.key_id if isinstance(actor, Principal) else None,
    )
    if row is None:
        await _explain_closed(conn, actor, meeting_id)
        raise Conflict("Inschrijven is op dit moment niet mogelijk; probeer het opnieuw")
    if row["id"] is not None:
        # RESERVE wrote the registration.confirmed/waitlisted event in the same statement (see reserve.RESERVE).
        return q.to_registration(row, row["rank"] if row["status"] == "waitlisted" else None), True
    existing = await q.active_for(conn, meeting_id, participant_id)
    if existing is not None:
        return await q.with_rank(conn, existing), False
    if not row["seat"] and not row["waitlist_enabled"]:
        raise Conflict("Deze bijeenkomst is vol en heeft geen wachtlijst", field="capacity")
    raise Conflict("Inschrijven is op dit moment niet mogelijk; probeer het opnieuw")


async def _explain_closed(conn: Connection, actor: Actor | None, meeting_id: UUID) -> None:
    """Say why the meeting took no registration: raises NotFound or Conflict naming the field."""
    meeting = await q.meeting_seats(conn, meeting_id)
    staff = isinstance(actor, Principal) and meeting is not None and _organises(actor, meeting)
    if meeting is None or (meeting.status == "draft" and not staff):
        raise NotFound("Deze bijeenkomst bestaat niet")
    if meeting.status == "draft":
        raise Conflict("Deze bijeenkomst is nog niet gepubliceerd; inschrijven kan pas daarna", field="status")
    if meeting.status == "cancelled":
        raise Conflict("Deze bijeenkomst is geannuleerd", field="status")
    now = datetime.now(UTC)
    if meeting.ends_at <= now:
        raise Conflict("Deze bijeenkomst is al afgelopen", field="ends_at")
    if staff:
        return
    opens, closes = meeting.registration_opens_at, meeting.registration_closes_at or meeting.starts_at
    if opens is not None and now < opens:
        when = dutch_time(opens, meeting.timezone)
        raise Conflict(f"De inschrijving opent op {when}", field="registration_opens_at")
    if now >= closes:
        when = dutch_time(closes, meeting.timezone)
        raise Conflict(f"De inschrijving is gesloten sinds {when}", field="registration_closes_at")


async def _owned(conn: Connection, actor: Actor | None, registration_id: UUID) -> asyncpg.Record:
    """The registration, if the caller is its participant or organises its meeting."""
    row = await q.get(conn, registration_id)
    if row is None:
        raise NotFound("Deze inschrijving bestaat niet")
    if isinstance(actor, ParticipantActor):
        if actor.participant_id != row["participant_id"]:
            raise Forbidden("Dit is niet uw inschrijving")
    elif isinstance(actor, Principal):
        await staff_meeting(conn, actor, row["meeting_id"])
    else:
        raise NotAuthenticated("Open uw inschrijving via uw persoonlijke link", field="token")
    return row


async def _lock(conn: Connection, row: asyncpg.Record) -> tuple[MeetingSeats, asyncpg.Record]:
    """Meeting first, then the registration (the lock order of services.registrations.queries)."""
    meeting = await q.meeting_seats(conn, row["meeting_id"], lock=True)
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
    finished = await q.finish(conn, registration_id, "cancelled", reason)
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
        updated = await q.finish(conn, registration_id, "declined", "rsvp_declined")
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
            raise Forbidden("Deze link is ongeldig", field="offer_token")
        row = await q.get(conn, registration_id)
        if row is None:
            raise NotFound("Deze inschrijving bestaat niet")
    else:
        row = await _owned(conn, actor, registration_id)
    _, row = await _lock(conn, row)
    if row["status"] != "offered":
        if action == "accept" and row["status"] == "confirmed":
            return q.to_registration(row)
        raise Conflict("Er staat geen plaats voor u klaar", field="status")
    if row["offer_expires_at"] <= datetime.now(UTC):
        raise Conflict("Het aanbod is verlopen; de plaats gaat naar de volgende op de wachtlijst", field="offer")
    if action == "accept":
        updated = await q.confirm_offer(conn, registration_id)
        await q.refresh_counts(conn, row["meeting_id"])
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
    updated = await q.finish(conn, registration_id, "declined", "offer_declined")
    await seats.emit_finished(conn, updated, "offered")
    await seats.fill_free_seats(conn, row["meeting_id"])
    return q.to_registration(updated)
