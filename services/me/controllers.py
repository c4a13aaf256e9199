"""HTTP: /api/v1/me, a participant's own data (personal token as Bearer or `?token=`)."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import JSONBody

from schemas.common import Page
from schemas.participants import Erased, IssuedToken, Participant, ParticipantPatch
from schemas.registrations import MyRegistration, ParticipantExport
from services.db import Conn
from services.http import CursorParam, LimitParam
from services.me import service
from services.participants import service as participants
from services.participants import suppression, tokens
from services.participants.auth import CurrentParticipant, provide_caller, provide_participant
from services.registrations import listing


class MeController(Controller):
    path = "/api/v1/me"
    tags = ("deelnemers",)
    dependencies = {"caller": provide_caller, "participant": provide_participant}  # noqa: RUF012 - read by Litestar

    @get("/")
    async def read_me(self, conn: Conn, participant: CurrentParticipant) -> Participant:
        """Your own details (personal token as Bearer or `?token=`)."""
        return await participants.me(conn, participant.participant_id)

    @patch("/")
    async def update_me(
        self, conn: Conn, state: State, participant: CurrentParticipant, data: JSONBody[ParticipantPatch]
    ) -> Participant:
        """Change your details; `invitation_consent: true` also undoes an earlier unsubscribe from invitations."""
        updated = await participants.update_me(conn, participant.participant_id, data)
        await suppression.asked_again(conn, state.settings.secret_key, participant.participant_id)
        return updated

    @get("/registrations")
    async def my_registrations(
        self, conn: Conn, participant: CurrentParticipant, cursor: CursorParam = None, limit: LimitParam = 50
    ) -> Page[MyRegistration]:
        """Your registrations, newest first, with your place on any waiting list."""
        return await listing.for_participant(conn, participant.participant_id, cursor=cursor, limit=limit)

    @get("/export")
    async def export_me(self, conn: Conn, participant: CurrentParticipant) -> ParticipantExport:
        """Everything we hold about you (GDPR access and portability)."""
        return await service.export(conn, participant.participant_id)

    @delete("/", status_code=200)
    async def erase_me(self, conn: Conn, state: State, participant: CurrentParticipant) -> Erased:
        """Erase your data: registrations are cancelled, links stop working, name and address are removed
        everywhere, and no mail is sent to the address any more unless you come back yourself."""
        return await service.erase(conn, participant.participant_id, secret=state.settings.secret_key)

    @post("/token", status_code=201)
    async def rotate_token(self, conn: Conn, participant: CurrentParticipant) -> IssuedToken:
        """Replace your manage links: every earlier one stops working, the new token is shown once."""
        token = await tokens.rotate(conn, participant.participant_id, "manage")
        return IssuedToken(token=token, purpose="manage")

    @delete("/token", status_code=204)
    async def revoke_token(self, conn: Conn, participant: CurrentParticipant) -> None:
        """Stop the link you are using now (log out)."""
        await tokens.revoke_id(conn, participant.token_id)
