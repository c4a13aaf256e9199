"""Attendance: organisers mark who came (walk-ins too), participants check themselves in with the code,
and no-shows can be released so their seats go to the waiting list."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from uuid import UUID

from schemas.auth import Principal
from schemas.events import AttendanceRecorded
from schemas.registrations import Attendance, AttendanceMark, CheckinInfo, Released, SelfCheckinIn
from services.attendance import checkin
from services.attendance import queries as q
from services.dates import moment
from services.db import Connection
from services.errors import Conflict, InvalidInput, NotFound
from services.outbox import emit
from services.participants import queries as participants
from services.participants.auth import Actor, ParticipantActor
from services.registrations import queries as rq
from services.registrations.service import staff_meeting
from services.seats import queries as sq
from services.seats import service as seats
from services.seats.queries import MeetingSeats

# An offered seat is still this person's seat: showing up before answering is an answer too.
SEAT_HOLDING = ("confirmed", "offered")


def _must_be_live(meeting: MeetingSeats) -> None:
    if meeting.status == "draft":
        raise Conflict("Deze bijeenkomst is nog niet gepubliceerd", field="status")
    if meeting.status == "cancelled":
        raise Conflict("Deze bijeenkomst is geannuleerd", field="status")


async def checkin_info(conn: Connection, principal: Principal, meeting_id: UUID, base_url: str) -> CheckinInfo:
    """The code to show at the venue, its URL and when it works. Raises NotFound, Forbidden."""
    meeting = await staff_meeting(conn, principal, meeting_id)
    code = await checkin.ensure_code(conn, meeting_id, meeting.checkin_code)
    opens, closes = checkin.window(meeting.starts_at, meeting.ends_at)
    return CheckinInfo(
        meeting_id=meeting_id,
        code=code,
        url=checkin.checkin_url(base_url, meeting_id, code),
        opens_at=opens,
        closes_at=closes,
    )


async def _record(
    conn: Connection,
    meeting_id: UUID,
    participant_id: UUID,
    *,
    status: str,
    method: str,
    recorded_by: UUID | None,
    registration_id: UUID | None = None,
) -> Attendance:
    registration = await rq.active_for(conn, meeting_id, participant_id)
    if registration is None and registration_id is not None:
        registration = await rq.get(conn, registration_id)
    attendance, changed = await q.upsert(
        conn,
        meeting_id=meeting_id,
        participant_id=participant_id,
        registration_id=registration["id"] if registration else None,
        status=status,
        walk_in=registration is None or registration["status"] not in SEAT_HOLDING,
        method=method,
        recorded_by=recorded_by,
    )
    if changed:
        await emit(
            conn,
            meeting_id,
            AttendanceRecorded(
                meeting_id=meeting_id,
                participant_id=participant_id,
                registration_id=attendance.registration_id,
                attended=attendance.status == "attended",
                walk_in=attendance.walk_in,
            ),
        )
    return attendance


async def _mark_subject(
    conn: Connection, meeting_id: UUID, mark: AttendanceMark, index: int
) -> tuple[UUID, UUID | None]:
    field = f"records[{index}]"
    given = [v for v in (mark.registration_id, mark.participant_id, mark.participant) if v is not None]
    if len(given) != 1:
        raise InvalidInput("Geef precies één van registration_id, participant_id of participant", field=field)
    if mark.registration_id is not None:
        row = await rq.get(conn, mark.registration_id)
        if row is None or row["meeting_id"] != meeting_id:
            raise InvalidInput("Deze inschrijving hoort niet bij deze bijeenkomst", field=f"{field}.registration_id")
        return row["participant_id"], row["id"]
    if mark.participant_id is not None:
        if await participants.get(conn, mark.participant_id) is None:
            raise InvalidInput("Deze deelnemer bestaat niet", field=f"{field}.participant_id")
        return mark.participant_id, None
    if mark.participant is None:  # unreachable: exactly one was given
        raise InvalidInput("Geef de deelnemer op", field=field)
    participant, _ = await participants.find_or_create(conn, mark.participant)
    return participant.id, None


async def record(
    conn: Connection, principal: Principal, meeting_id: UUID, marks: list[AttendanceMark]
) -> list[Attendance]:
    """Mark attendance in bulk; unknown people are created as walk-ins. Raises NotFound, Forbidden, InvalidInput,
    Conflict (not published, or before the check-in window opens)."""
    meeting = await staff_meeting(conn, principal, meeting_id)
    _must_be_live(meeting)
    opens, _ = checkin.window(meeting.starts_at, meeting.ends_at)
    if datetime.now(UTC) < opens:
        when = moment(opens, meeting.timezone)
        raise Conflict(f"Aanwezigheid kan worden geregistreerd vanaf {when}", field="starts_at")
    results = []
    for index, mark in enumerate(marks):
        participant_id, registration_id = await _mark_subject(conn, meeting_id, mark, index)
        results.append(
            await _record(
                conn,
                meeting_id,
                participant_id,
                status=mark.status,
                method="organiser",
                recorded_by=principal.key_id,
                registration_id=registration_id,
            )
        )
    return results


async def self_checkin(conn: Connection, actor: Actor | None, meeting_id: UUID, data: SelfCheckinIn) -> Attendance:
    """Check yourself in with the code shown at the venue, during the window. Raises NotFound, InvalidInput (wrong
    code, nobody named), Conflict (cancelled, outside the window)."""
    meeting = await sq.meeting_seats(conn, meeting_id)
    if meeting is None or meeting.status == "draft":
        raise NotFound("Deze bijeenkomst bestaat niet")
    _must_be_live(meeting)
    expected = meeting.checkin_code or ""
    if not expected or not hmac.compare_digest(expected.encode(), checkin.normalise(data.code).encode()):
        raise InvalidInput("Deze incheckcode klopt niet", field="code")
    opens, closes = checkin.window(meeting.starts_at, meeting.ends_at)
    now = datetime.now(UTC)
    if not opens <= now < closes:
        span = f"{moment(opens, meeting.timezone)} tot {moment(closes, meeting.timezone)}"
        raise Conflict(f"Inchecken kan alleen van {span}", field="code")
    if isinstance(actor, ParticipantActor):
        participant_id = actor.participant_id
    elif data.participant is not None:
        participant_id = (await participants.find_or_create(conn, data.participant))[0].id
    else:
        raise InvalidInput("Geef je gegevens op of gebruik je persoonlijke link", field="participant")
    return await _record(conn, meeting_id, participant_id, status="attended", method="self", recorded_by=None)


async def release_no_shows(conn: Connection, principal: Principal, meeting_id: UUID) -> Released:
    """After the start: everyone confirmed but not marked present loses the seat (recorded as no-show) and the
    seats go down the waiting list. Raises NotFound, Forbidden, Conflict (not started, over, not published)."""
    await staff_meeting(conn, principal, meeting_id)
    meeting = await sq.meeting_seats(conn, meeting_id, lock=True)
    if meeting is None:
        raise NotFound("Deze bijeenkomst bestaat niet")
    _must_be_live(meeting)
    now = datetime.now(UTC)
    if now < meeting.starts_at:
        raise Conflict("Plaatsen van afwezigen vrijgeven kan pas na het begin", field="starts_at")
    if now >= meeting.ends_at:
        raise Conflict("Deze bijeenkomst is al afgelopen", field="ends_at")
    rows = await q.unattended_confirmed(conn, meeting_id)
    for row in rows:
        finished = await sq.finish(conn, row["id"], "cancelled", "no_show_released")
        await seats.emit_finished(conn, finished, row["status"])
        await _record(
            conn, meeting_id, row["participant_id"], status="no_show", method="organiser", recorded_by=principal.key_id,
            registration_id=row["id"],
        )  # fmt: skip
    promoted = await seats.fill_free_seats(conn, meeting_id, now=now)
    return Released(released=len(rows), promoted=promoted)
