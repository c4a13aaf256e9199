"""Repair: someone leaves or joins mid-round. The solver proposes the fewest moves that restore the hard
constraints (services/circles/loading.py MOVE_WEIGHT); nobody else is reshuffled.

Before publishing the repair is applied to the proposal at once. After publishing it is a proposal
(`proposed_circle`) the organiser applies: the moved members' registrations for the sessions still to come move
with them, and each gets the mails of that (a CANCEL for the old circle's sessions, a REQUEST for the new).
"""

from __future__ import annotations

from uuid import UUID

from schemas.auth import Principal
from schemas.circles import CircleRound
from schemas.events import CircleRoundSolveRequested
from services.circles import queries as q
from services.circles.publish import future_meetings
from services.circles.service import own_round, view
from services.db import Connection
from services.errors import Conflict, InvalidInput, NotFound
from services.outbox import emit
from services.participants.queries import known_to
from services.registrations.admission import take_seat
from services.seats import queries as sq
from services.seats import service as seats


def _repairable(round_: q.RoundRow) -> None:
    if round_.state in ("composing", "publishing"):
        raise Conflict("De kringronde is bezig; probeer het zo opnieuw", field="state")
    if round_.circle_count is None:
        raise Conflict("Deze kringronde heeft nog geen kringen", field="state")


async def _ask_repair(conn: Connection, round_: q.RoundRow) -> None:
    # A published round stays published while a repair is worked out; a proposal goes back to composing.
    state = "published" if round_.state == "published" else "composing"
    seq = await q.set_state(conn, round_.id, state, bump=True, mode="repair")
    await emit(conn, round_.id, CircleRoundSolveRequested(round_id=round_.id, seq=seq, mode="repair"))


async def _leave_meetings(conn: Connection, round_id: UUID, circle: int, participant_id: UUID, reason: str) -> None:
    for meeting_id in await future_meetings(conn, round_id, circle):
        await sq.meeting_seats(conn, meeting_id, lock=True)
        row = await conn.fetchrow(
            "SELECT id, status FROM registrations WHERE meeting_id = $1 AND participant_id = $2 "
            "AND status IN ('confirmed', 'waitlisted', 'offered')",
            meeting_id,
            participant_id,
        )
        if row is not None:
            finished = await sq.finish(conn, row["id"], "cancelled", reason)
            await seats.emit_finished(conn, finished, row["status"])
            await sq.refresh_counts(conn, meeting_id)


async def leave(conn: Connection, principal: Principal, round_id: UUID, member_id: UUID) -> CircleRound:
    """Take a member out (their coming sessions are cancelled for them) and ask for a repair. Raises NotFound,
    Conflict."""
    round_ = await own_round(conn, principal, round_id, lock=True)
    _repairable(round_)
    row = await conn.fetchrow(
        "UPDATE circle_members SET left_at = now(), pinned = false, proposed_circle = NULL "
        "WHERE id = $1 AND round_id = $2 AND left_at IS NULL RETURNING participant_id, circle",
        member_id,
        round_id,
    )
    if row is None:
        raise NotFound("Dit lid hoort niet (meer) bij deze kringronde")
    if round_.state == "published" and row["circle"] is not None:
        await _leave_meetings(conn, round_id, row["circle"], row["participant_id"], "organiser")
    await _ask_repair(conn, round_)
    return await view(conn, principal, round_id)


async def join(conn: Connection, principal: Principal, round_id: UUID, participant_id: UUID) -> CircleRound:
    """Add someone the body knows and ask for a repair that places them. Raises InvalidInput, Conflict."""
    round_ = await own_round(conn, principal, round_id, lock=True)
    _repairable(round_)
    known = principal.is_admin or await known_to(conn, round_.organiser_code, participant_id)
    exists = await conn.fetchval("SELECT 1 FROM participants WHERE id = $1 AND erased_at IS NULL", participant_id)
    if not known or not exists:
        raise InvalidInput("Deze deelnemer is niet bekend bij je organisatie", field="participant_id")
    added = await conn.fetchval(
        """
        INSERT INTO circle_members (round_id, participant_id, experienced)
        SELECT $1, $2, (SELECT count(*) FROM attendance a WHERE a.participant_id = $2 AND a.status = 'attended') >= 3
        ON CONFLICT (round_id, participant_id) DO UPDATE
            SET left_at = NULL, circle = NULL, pinned = false, proposed_circle = NULL, joined_at = now()
            WHERE circle_members.left_at IS NOT NULL
        RETURNING id
        """,
        round_id,
        participant_id,
    )
    if added is None:
        raise Conflict("Deze deelnemer doet al mee", field="participant_id")
    await _ask_repair(conn, round_)
    return await view(conn, principal, round_id)


async def apply(conn: Connection, principal: Principal, round_id: UUID) -> CircleRound:
    """Carry out a published round's repair proposal: move registrations for the sessions still to come.
    Raises Conflict when nothing is proposed."""
    round_ = await own_round(conn, principal, round_id, lock=True)
    if round_.state != "published":
        raise Conflict("Alleen een gepubliceerde kringronde heeft een herstel om door te voeren", field="state")
    moves = await conn.fetch(
        "SELECT id, participant_id, circle, proposed_circle FROM circle_members "
        "WHERE round_id = $1 AND left_at IS NULL AND proposed_circle IS NOT NULL "
        "AND proposed_circle IS DISTINCT FROM circle ORDER BY joined_at, id",
        round_id,
    )
    if not moves:
        raise Conflict("Er staat geen herstel klaar", field="repair")
    for m in moves:
        if m["circle"] is not None:
            await _leave_meetings(conn, round_id, m["circle"], m["participant_id"], "organiser")
        for meeting_id in await future_meetings(conn, round_id, m["proposed_circle"]):
            await take_seat(
                conn, meeting_id=meeting_id, participant_id=m["participant_id"], staff=True, created_by=principal.key_id
            )
        await conn.execute(
            "UPDATE circle_members SET circle = proposed_circle, proposed_circle = NULL WHERE id = $1", m["id"]
        )
    await conn.execute("UPDATE circle_members SET proposed_circle = NULL WHERE round_id = $1", round_id)
    return await view(conn, principal, round_id)
