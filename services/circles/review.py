"""The organiser's review of a proposal: move or pin a person, re-solve around the pins, publish."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec

from schemas.auth import Principal
from schemas.circles import CirclePlaceIn, CircleRound, MemberPatch
from schemas.events import CircleRoundPublishRequested, CircleRoundSolveRequested
from services.circles import queries as q
from services.circles.loading import load
from services.circles.problem import evaluate
from services.circles.service import own_round, view
from services.db import Connection
from services.errors import Conflict, InvalidInput, NotFound
from services.outbox import emit

REVIEWABLE = ("proposed", "infeasible")


def _reviewable(round_: q.RoundRow) -> None:
    if round_.state == "composing":
        raise Conflict("De kringen worden nog samengesteld; probeer het zo opnieuw", field="state")
    if round_.state not in REVIEWABLE:
        raise Conflict("Een gepubliceerde kringronde verander je met herstel (leden erbij of eraf)", field="state")


async def patch_member(
    conn: Connection, principal: Principal, round_id: UUID, member_id: UUID, data: MemberPatch
) -> CircleRound:
    """Move a member (which pins them there) or pin/unpin them. Raises NotFound, Conflict, InvalidInput."""
    round_ = await own_round(conn, principal, round_id, lock=True)
    _reviewable(round_)
    current = await conn.fetchrow(
        "SELECT circle, pinned FROM circle_members WHERE id = $1 AND round_id = $2 AND left_at IS NULL",
        member_id,
        round_id,
    )
    if current is None:
        raise NotFound("Dit lid hoort niet bij deze kringronde")
    circle, pinned = current["circle"], current["pinned"]
    if data.circle is not None:
        if round_.circle_count is None or data.circle > round_.circle_count:
            raise InvalidInput(f"Er zijn {round_.circle_count or 0} kringen", field="circle")
        circle, pinned = data.circle - 1, True
    if data.pinned is not None:
        pinned = data.pinned
    if pinned and circle is None:
        raise InvalidInput("Dit lid heeft nog geen kring om vast te zetten", field="pinned")
    await conn.execute("UPDATE circle_members SET circle = $2, pinned = $3 WHERE id = $1", member_id, circle, pinned)
    await conn.execute("UPDATE circle_rounds SET updated_at = now() WHERE id = $1", round_id)
    return await view(conn, principal, round_id)


async def set_place(
    conn: Connection, principal: Principal, round_id: UUID, number: int, data: CirclePlaceIn
) -> CircleRound:
    """Give one circle its own venue or online link before publishing. Raises NotFound, Conflict, InvalidInput."""
    round_ = await own_round(conn, principal, round_id, lock=True)
    _reviewable(round_)
    if round_.circle_count is None or not 1 <= number <= round_.circle_count:
        raise InvalidInput(f"Er zijn {round_.circle_count or 0} kringen", field="number")
    venue = None if data.venue is None else msgspec.to_builtins(data.venue)
    await q.set_place(conn, round_id, number - 1, venue, data.online_url)
    return await view(conn, principal, round_id)


async def request_solve(
    conn: Connection,
    principal: Principal,
    round_id: UUID,
    *,
    time_limit: float | None = None,
    keep: bool = False,
) -> CircleRound:
    """Compose again; pinned members stay where they are. `keep`: everyone else stays too unless a move is needed
    (the fewest moves, as a repair does): after moving someone by hand, so the move keeps who they meet (composing
    from scratch may just give the circles new numbers around them). Raises Conflict while composing or once
    published."""
    round_ = await own_round(conn, principal, round_id, lock=True)
    _reviewable(round_)
    if time_limit is not None:
        await conn.execute(
            "UPDATE circle_rounds SET request = jsonb_set(request, '{time_limit_seconds}', to_jsonb($2::float8)) "
            "WHERE id = $1",
            round_id,
            time_limit,
        )
    mode: Literal["compose", "repair"] = "repair" if keep else "compose"
    seq = await q.set_state(conn, round_id, "composing", bump=True, mode=mode)
    await emit(conn, round_id, CircleRoundSolveRequested(round_id=round_id, seq=seq, mode=mode))
    return await view(conn, principal, round_id)


async def request_publish(conn: Connection, principal: Principal, round_id: UUID) -> CircleRound:
    """Hand the proposal to the publishing job. Raises Conflict when it is not proposed or breaks a hard rule
    (a hand move can): the problem lists which."""
    round_ = await own_round(conn, principal, round_id, lock=True)
    if round_.state == "published":
        return await view(conn, principal, round_id)
    if round_.state == "infeasible":
        raise Conflict(
            "Deze indeling voldoet niet aan alle harde eisen: " + "; ".join(round_.explanation), field="state"
        )
    _reviewable(round_)
    loaded = await load(conn, round_, mode="view")
    if any(m.circle is None for m in loaded.members):
        raise Conflict("Niet iedereen heeft een kring; stel de kringen opnieuw samen", field="circles")
    score = evaluate(loaded.problem, [m.circle or 0 for m in loaded.members], loaded.circles)
    if score.violations:
        raise Conflict("Los eerst op: " + "; ".join(score.violations), field="circles")
    await q.set_state(conn, round_id, "publishing")
    await emit(conn, round_id, CircleRoundPublishRequested(round_id=round_id))
    return await view(conn, principal, round_id)
