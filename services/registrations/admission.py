"""Taking a seat or a waiting-list place for someone whose address is proven, and saying why a meeting takes none.

Every route that ends in a registration comes here: a personal link, an invitation link, a confirmed request
(services/registrations/requests.py) and staff registering someone. The seat itself is decided by one statement
(services/registrations/reserve.py), which is the hot path of the registration rush.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from schemas.registrations import Registration
from services.dates import moment
from services.db import Connection
from services.errors import Conflict, NotFound
from services.registrations import queries as q
from services.registrations.reserve import reserve
from services.seats import queries as sq
from services.seats.queries import MeetingSeats


def refuse_if_closed(meeting: MeetingSeats | None, *, staff: bool, now: datetime | None = None) -> MeetingSeats:
    """The meeting, when it takes registrations now; `staff` (its organisers) may register outside the window.
    Raises NotFound (unknown, or a draft to the public) or Conflict naming the field that closes it."""
    if meeting is None or (meeting.status == "draft" and not staff):
        raise NotFound("Deze bijeenkomst bestaat niet")
    if meeting.status == "draft":
        raise Conflict("Deze bijeenkomst is nog niet gepubliceerd; inschrijven kan pas daarna", field="status")
    if meeting.status == "cancelled":
        raise Conflict("Deze bijeenkomst is geannuleerd", field="status")
    now = now or datetime.now(UTC)
    if meeting.ends_at <= now:
        raise Conflict("Deze bijeenkomst is al afgelopen", field="ends_at")
    if staff:
        return meeting
    opens, closes = meeting.registration_opens_at, meeting.registration_closes_at or meeting.starts_at
    if opens is not None and now < opens:
        raise Conflict(f"De inschrijving opent op {moment(opens, meeting.timezone)}", field="registration_opens_at")
    if now >= closes:
        when = moment(closes, meeting.timezone)
        raise Conflict(f"De inschrijving is gesloten sinds {when}", field="registration_closes_at")
    return meeting


def refuse_if_full(meeting: MeetingSeats) -> None:
    """A full meeting without a waiting list takes nobody. Raises Conflict on `capacity`."""
    if not meeting.waitlist_enabled and meeting.seats.free == 0:
        raise Conflict("Deze bijeenkomst is vol en heeft geen wachtlijst", field="capacity")


async def take_seat(
    conn: Connection, *, meeting_id: UUID, participant_id: UUID, staff: bool, created_by: UUID | None
) -> tuple[Registration, bool]:
    """Confirmed while seats last, waitlisted after; (registration, created). Someone already registered gets
    their active registration back. Raises NotFound, Conflict (closed, full without a waiting list)."""
    row = await reserve(
        conn,
        meeting_id=meeting_id,
        registration_id=uuid4(),
        participant_id=participant_id,
        any_time=staff,
        source="organiser" if staff else "self",
        created_by=created_by,
    )
    if row is None:
        refuse_if_closed(await sq.meeting_seats(conn, meeting_id), staff=staff)
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
