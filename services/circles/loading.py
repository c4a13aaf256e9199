"""From rows to the pure problem (services/circles/problem.py) and back: one place, for the solver job and for
the score an organiser sees."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from services.circles import queries as q
from services.circles.problem import Goals, Person, Problem
from services.db import Connection

# A moved person costs more than any soft goal can gain by one move, so a repair moves as few people as it can.
MOVE_WEIGHT = 10_000


@dataclass(frozen=True, slots=True)
class Loaded:
    problem: Problem
    members: list[q.MemberRow]  # the round's current members, in the problem's order
    circles: int  # the number of circles the answer has (0 before the first composition)


def goals_of(round_: q.RoundRow) -> Goals:
    g = round_.request.goals
    return Goals(
        region=g.region,
        region_weight=g.region_weight,
        experience_weight=g.experience_weight,
        repeat_weight=g.repeat_weight,
    )


async def load(conn: Connection, round_: q.RoundRow, *, mode: str = "view", viewer: str | None = None) -> Loaded:
    """mode "view": the circles as they are; "compose": free everyone not pinned; "repair": keep the number of
    circles, everyone where they are unless moving them is the only way (joiners have no place yet)."""
    rows = [m for m in await q.members(conn, round_.id, viewer) if not m.left]
    index = {m.participant_id: i for i, m in enumerate(rows)}
    people = [
        Person(
            # No organisation: nobody shares it, so the rule cannot bind (a unique key per person).
            municipality=m.organisation_code or f"?{m.id}",
            region=m.region or "",
            experienced=m.experienced,
            pinned=m.circle if m.pinned and m.circle is not None else None,
            current=m.circle if mode == "repair" else None,
        )
        for m in rows
    ]

    def pairs(found: list[tuple[UUID, UUID]]) -> list[tuple[int, int]]:
        return [(index[a], index[b]) for a, b in found if a in index and b in index]

    problem = Problem(
        people=people,
        size_min=round_.request.size_min,
        size_max=round_.request.size_max,
        apart=pairs(await q.apart_pairs(conn, round_.id)),
        met_before=pairs(await q.met_before(conn, round_.id, round_.organiser_code)),
        goals=goals_of(round_),
        circles=round_.circle_count if mode in ("repair", "view") else None,
        move_weight=MOVE_WEIGHT if mode == "repair" else 0,
    )
    return Loaded(problem=problem, members=rows, circles=round_.circle_count or 0)
