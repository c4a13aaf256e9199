"""HTTP: /api/v1/participants (find-or-create) and /api/v1/me (a participant's own data, by personal token)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody

from schemas.participants import LinkRequested, Participant, ParticipantIn
from services import ratelimit
from services.db import Conn
from services.participants import service
from services.participants.auth import CurrentCaller, provide_caller


class ParticipantController(Controller):
    path = "/api/v1/participants"
    tags = ("deelnemers",)

    @post(
        "/",
        dependencies={"caller": provide_caller},
        responses={
            200: ResponseSpec(Participant, description="Bekend bij je organisatie: het opgeslagen record"),
            202: ResponseSpec(
                LinkRequested, description="Zonder sleutel: er gaat een e-mail met een persoonlijke link"
            ),
        },
    )
    async def upsert_participant(
        self, conn: Conn, caller: CurrentCaller, data: JSONBody[ParticipantIn], request: Request[Any, Any, Any]
    ) -> Response[Participant | LinkRequested]:
        """Find or create by e-mail. Organisers get the participant (201 new, 200 known). Anyone else gets 202 and,
        by mail, a personal link; the answer never reveals whether the address was known."""
        if caller.principal is not None:
            participant, created = await service.upsert_by_staff(conn, caller.principal, data)
            return Response(participant, status_code=201 if created else 200)
        await ratelimit.for_request(request, ratelimit.MAIL)
        return Response(await service.request_link(conn, data), status_code=202)
