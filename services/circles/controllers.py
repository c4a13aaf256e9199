"""HTTP: /api/v1/circle-rounds (compose learning circles, review, publish, repair)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from schemas.circles import CirclePlaceIn, CircleRound, CircleRoundIn, CircleRoundSummary, JoinIn, MemberPatch, SolveIn
from schemas.common import Page
from services.auth.guards import CurrentPrincipal, provide_principal
from services.circles import repair, review, service
from services.db import Conn
from services.http import CursorParam, LimitParam
from services.pagination import decode_cursor, encode_cursor

BestEffort = Annotated[
    bool,
    QueryParameter(
        name="bestEffort",
        description="Ook als een harde eis niet kan: stel de indeling samen die er het dichtst bij komt (state "
        "`infeasible`, met uitleg)",
    ),
]


def _accepted(round_: CircleRound) -> Response[CircleRound]:
    return Response(round_, status_code=202, headers={"Location": f"/api/v1/circle-rounds/{round_.id}"})


class CircleRoundController(Controller):
    path = "/api/v1/circle-rounds"
    tags = ("leerkringen",)
    dependencies = {"principal": provide_principal}  # noqa: RUF012 - Litestar reads this class attribute

    @post("/", status_code=202)
    async def create_round(
        self, conn: Conn, principal: CurrentPrincipal, data: JSONBody[CircleRoundIn], best_effort: BestEffort = False
    ) -> Response[CircleRound]:
        """Ask for learning circles (organiser, admin). Answers 202 with the round in `composing`; a worker composes
        it, follow `Location` until `proposed` (or `infeasible`). A hard constraint that cannot hold is a 422 that
        says which and by how much, unless `bestEffort=true`."""
        return _accepted(await service.create(conn, principal, data, best_effort=best_effort))

    @get("/")
    async def list_rounds(
        self, conn: Conn, principal: CurrentPrincipal, cursor: CursorParam = None, limit: LimitParam = 50
    ) -> Page[CircleRoundSummary]:
        """The rounds of the caller's body (organiser), every body's for an admin; newest first, a page at a time
        (`next_cursor`)."""
        after = decode_cursor(cursor, tuple[datetime, UUID])
        found = await service.list_rounds(conn, principal, after, limit + 1)
        items = found[:limit]
        last = items[-1] if len(found) > limit else None
        return Page(items=items, next_cursor=encode_cursor(last.created_at.isoformat(), str(last.id)) if last else None)

    @get("/{round_id:uuid}")
    async def get_round(self, conn: Conn, principal: CurrentPrincipal, round_id: FromPath[UUID]) -> CircleRound:
        """The round: state, circles with members and a score per circle, the objective and its lower bound."""
        return await service.view(conn, principal, round_id)

    @patch("/{round_id:uuid}/members/{member_id:uuid}")
    async def patch_member(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        round_id: FromPath[UUID],
        member_id: FromPath[UUID],
        data: JSONBody[MemberPatch],
    ) -> CircleRound:
        """Move a member to another circle (pins them there) or pin/unpin them; the score follows at once."""
        return await review.patch_member(conn, principal, round_id, member_id, data)

    @put("/{round_id:uuid}/circles/{number:int}/place")
    async def set_place(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        round_id: FromPath[UUID],
        number: Annotated[int, PathParameter(ge=1, le=10_000, description="Het nummer van de kring")],
        data: JSONBody[CirclePlaceIn],
    ) -> CircleRound:
        """Where one circle meets (a venue of its own, or online), instead of the round's place; before publishing."""
        return await review.set_place(conn, principal, round_id, number, data)

    @post("/{round_id:uuid}/solve", status_code=202)
    async def solve(
        self, conn: Conn, principal: CurrentPrincipal, round_id: FromPath[UUID], data: JSONBody[SolveIn | None] = None
    ) -> Response[CircleRound]:
        """Compose again around the pinned members (202; a worker solves), optionally with a new time limit."""
        limit = data.time_limit_seconds if data else None
        return _accepted(await review.request_solve(conn, principal, round_id, time_limit=limit))

    @post("/{round_id:uuid}/publish", status_code=202)
    async def publish(self, conn: Conn, principal: CurrentPrincipal, round_id: FromPath[UUID]) -> Response[CircleRound]:
        """Publish (202): every circle becomes a series of meetings with its members registered and invited."""
        return _accepted(await review.request_publish(conn, principal, round_id))

    @post("/{round_id:uuid}/members", status_code=202)
    async def join(
        self, conn: Conn, principal: CurrentPrincipal, round_id: FromPath[UUID], data: JSONBody[JoinIn]
    ) -> Response[CircleRound]:
        """Someone joins mid-round (a person the body knows); a worker proposes where, moving as few as it can."""
        return _accepted(await repair.join(conn, principal, round_id, data.participant_id))

    @delete("/{round_id:uuid}/members/{member_id:uuid}", status_code=202)
    async def leave(
        self, conn: Conn, principal: CurrentPrincipal, round_id: FromPath[UUID], member_id: FromPath[UUID]
    ) -> Response[CircleRound]:
        """Someone leaves: their coming sessions are cancelled; a worker proposes the smallest repair."""
        return _accepted(await repair.leave(conn, principal, round_id, member_id))

    @post("/{round_id:uuid}/repair/apply", status_code=200)
    async def apply_repair(self, conn: Conn, principal: CurrentPrincipal, round_id: FromPath[UUID]) -> CircleRound:
        """Carry out the proposed repair of a published round: registrations for coming sessions move along."""
        return await repair.apply(conn, principal, round_id)
