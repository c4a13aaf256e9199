"""A participant's own data as a whole: everything we hold (export) and the right to erasure."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from schemas.events import ParticipantErased
from schemas.participants import Erased
from schemas.registrations import Attendance, ParticipantExport
from services.db import Connection
from services.errors import NotFound
from services.me import queries
from services.outbox import emit
from services.participants import queries as participants
from services.participants import suppression, tokens
from services.participants.service import me
from services.registrations import queries as rq
from services.registrations.listing import for_participant
from services.seats import queries as sq
from services.seats import service as seats


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


async def erase(conn: Connection, participant_id: UUID, *, secret: str) -> Erased:
    """Right to erasure: active registrations are cancelled (their seats move on), every token is revoked, name
    and address are blanked here and taken out of every other table (mail ledger, invitations, answers, saved
    lists, queued mail), and the address goes on the suppression list as a keyed hash (`secret`). Attendance
    stays, anonymous, because funder reports count it. Raises NotFound."""
    email = await conn.fetchval(
        "SELECT email FROM participants WHERE id = $1 AND erased_at IS NULL FOR UPDATE", participant_id
    )
    if email is None:
        raise NotFound("Deze deelnemer bestaat niet")
    active = await conn.fetch(
        "SELECT id, meeting_id FROM registrations WHERE participant_id = $1 AND status = ANY($2::text[]) "
        "ORDER BY meeting_id",
        participant_id,
        ["confirmed", "waitlisted", "offered"],
    )
    # Meetings in id order: two erasures touching the same meetings lock them in the same order.
    for row in active:
        await sq.meeting_seats(conn, row["meeting_id"], lock=True)
        current = await rq.get(conn, row["id"], lock=True)
        if current is None or current["status"] not in ("confirmed", "waitlisted", "offered"):
            continue
        finished = await sq.finish(conn, row["id"], "cancelled", "erased")
        await seats.emit_finished(conn, finished, current["status"])
        await seats.fill_free_seats(conn, row["meeting_id"])
    await tokens.revoke_all(conn, participant_id)
    # What they said about themselves in requests they never confirmed goes too.
    await conn.execute("DELETE FROM registration_requests WHERE participant_id = $1", participant_id)
    erased = await participants.anonymise(conn, participant_id)
    if erased is None:
        raise NotFound("Deze deelnemer bestaat niet")
    await queries.forget_address(conn, str(email), participant_id, str(erased["email"]))
    await suppression.suppress(conn, secret, str(email))
    await emit(conn, participant_id, ParticipantErased(participant_id=participant_id))
    return Erased(erased_at=erased["erased_at"], cancelled_registrations=len(active))
