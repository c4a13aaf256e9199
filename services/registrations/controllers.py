"""HTTP: /api/v1/meetings/{id}/registrations and /api/v1/registrations/{id}."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any, TypeAlias
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from schemas.common import Page
from schemas.registrations import (
    ConfirmIn,
    Registration,
    RegistrationIn,
    RegistrationListItem,
    RegistrationRequested,
    RegistrationStatus,
    RsvpIn,
)
from services import ratelimit
from services.auth.guards import CurrentPrincipal, provide_principal
from services.db import Conn, Connection, Pool
from services.http import SLUG, CodeParam, CursorParam, LimitParam, TextParam
from services.http import created as created_response
from services.participants.auth import Actor, CurrentCaller, ParticipantActor, provide_caller
from services.registrations import idempotency, listing, requests, service
from services.registrations.offers import OfferAction

IdempotencyKey: TypeAlias = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Herhaal een verzoek veilig: dezelfde sleutel met dezelfde inhoud geeft hetzelfde antwoord",
    ),
]
OfferToken: TypeAlias = Annotated[
    str | None,
    QueryParameter(name="offerToken", max_length=100, description="Ondertekende link uit de e-mail met het aanbod"),
]


async def provide_statement_connection(state: State) -> AsyncGenerator[Connection, None]:
    """A pooled connection without a request transaction, for registering only.

    Registering writes through two statements that are each complete on their own: find-or-create the participant
    (harmless to keep if the rest fails) and reserve.RESERVE, which locks the meeting, decides, inserts, counts and
    writes the event in one statement. Run outside an explicit transaction, RESERVE commits as it finishes, so the
    hot meeting row is locked only while PostgreSQL executes and commits it, never while an event loop busy with
    other requests gets round to sending COMMIT. With an Idempotency-Key the handler opens a transaction itself."""
    pool: Pool = state.pool
    # The audit actor (services/audit) is set for the session on such a connection; the pool's RESET ALL on
    # release clears it before anyone else gets the connection.
    async with pool.acquire() as conn:
        yield conn


def _scope(actor: Actor) -> str:
    if isinstance(actor, ParticipantActor):
        return f"participant:{actor.participant_id}"
    return f"key:{actor.key_id}"


def _registered(registration: Registration, new: bool) -> Response[Any]:
    """201 with Location for a new registration; 200 with the existing one (typed by the handlers that return it)."""
    if new:
        return created_response(registration, f"/api/v1/registrations/{registration.id}")
    return Response(registration, status_code=200)


class RegistrationRequestController(Controller):
    path = "/api/v1/registration-requests"
    tags = ("inschrijvingen",)
    security = [{}]  # noqa: RUF012 - the token from the mail is the credential

    @post(
        "/confirm",
        dependencies={"conn": Provide(provide_statement_connection)},
        responses={200: ResponseSpec(Registration, description="Al eerder bevestigd: dezelfde inschrijving")},
    )
    async def confirm_request(self, conn: Conn, state: State, data: JSONBody[ConfirmIn]) -> Response[Registration]:
        """Confirm a registration with the token from the mailed link: the address is proven, and the seat (or the
        place on the waiting list) is taken now, in confirmation order. 201, or 200 when it was confirmed before.
        404 for an unknown link, 410 for an expired one, 409 when the meeting closed or filled up."""
        registration, created = await requests.confirm(conn, data.token, secret=state.settings.secret_key)
        return _registered(registration, created)


class MeetingRegistrationController(Controller):
    path = "/api/v1/meetings"
    tags = ("inschrijvingen",)

    @post(
        "/{meeting_id:uuid}/registrations",
        dependencies={"conn": Provide(provide_statement_connection), "caller": provide_caller},
        responses={
            200: ResponseSpec(Registration, description="Al ingeschreven: de bestaande inschrijving"),
            202: ResponseSpec(RegistrationRequested, description="Zonder sleutel of link: bevestig via de e-mail"),
        },
    )
    async def register(
        self,
        conn: Conn,
        caller: CurrentCaller,
        meeting_id: FromPath[UUID],
        data: JSONBody[RegistrationIn],
        state: State,
        request: Request[Any, Any, Any],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Registration | RegistrationRequested]:
        """Register. With a personal link (`participant` token) or an API key: `confirmed` while seats last, else
        `waitlisted` with a position; 201 for a new registration, 200 with the existing one. Without either, the
        address is not proven yet: 202, and a mail with a confirmation link goes to it; nothing counts (no seat,
        no place in line) until that link is confirmed (`POST /api/v1/registration-requests/confirm`)."""
        actor = caller.actor
        if actor is None:
            await ratelimit.for_request(request, ratelimit.MAIL)
            person = service.anonymous_subject(data)
            return Response(await requests.request(conn, state.settings, meeting_id, person), status_code=202)
        if idempotency_key is None:
            registration, created = await service.register(conn, actor, meeting_id, data)
            return _registered(registration, created)
        # The key, the work and the stored answer commit together, or not at all.
        scope, digest = _scope(actor), idempotency.request_hash("register", str(meeting_id), data)
        async with conn.transaction():
            replay = await idempotency.begin(conn, scope, idempotency_key, digest)
            if replay is not None:
                return Response(
                    msgspec.convert(replay.body, Registration, strict=False),
                    status_code=replay.status_code,
                    headers={"Idempotent-Replayed": "true"},
                )
            registration, created = await service.register(conn, actor, meeting_id, data)
            status = 201 if created else 200
            await idempotency.finish(conn, scope, idempotency_key, status, registration)
        return Response(registration, status_code=status)

    @get("/{meeting_id:uuid}/registrations", dependencies={"principal": provide_principal})
    async def list_registrations(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        meeting_id: FromPath[UUID],
        status: FromQuery[RegistrationStatus | None] = None,
        organisation: CodeParam = None,
        professional_group: Annotated[
            str | None, QueryParameter(name="professionalGroup", max_length=60, pattern=SLUG)
        ] = None,
        q: TextParam = None,
        cursor: CursorParam = None,
        limit: LimitParam = 100,
    ) -> Page[RegistrationListItem]:
        """Registrations and waiting list in arrival order (organisers of the meeting, admin)."""
        return await listing.for_meeting(
            conn,
            principal,
            meeting_id,
            cursor=cursor,
            limit=limit,
            status=status,
            organisation=organisation.upper() if organisation else None,
            professional_group=professional_group,
            search=q.strip() if q else None,
        )

    @get(
        "/{meeting_id:uuid}/registrations.csv",
        dependencies={"principal": provide_principal},
        media_type="text/csv",
    )
    async def export_registrations(
        self,
        conn: Conn,
        principal: CurrentPrincipal,
        meeting_id: FromPath[UUID],
        status: FromQuery[RegistrationStatus | None] = None,
    ) -> Response[str]:
        """CSV for Excel (semicolons, UTF-8 with BOM)."""
        text = await listing.csv_export(conn, principal, meeting_id, status=status)
        return Response(
            text,
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="inschrijvingen-{meeting_id}.csv"'},
        )


class RegistrationController(Controller):
    path = "/api/v1/registrations"
    tags = ("inschrijvingen",)
    dependencies = {"caller": provide_caller}  # noqa: RUF012 - Litestar reads this class attribute

    @get("/{registration_id:uuid}")
    async def get_registration(
        self, conn: Conn, caller: CurrentCaller, registration_id: FromPath[UUID]
    ) -> Registration:
        """One registration, for its participant (personal token) or the meeting's organisers."""
        return await service.get(conn, caller.actor, registration_id)

    @post("/{registration_id:uuid}/cancel", status_code=200)
    async def cancel_registration(
        self, conn: Conn, caller: CurrentCaller, registration_id: FromPath[UUID]
    ) -> Registration:
        """Cancel; the seat goes to the first on the waiting list."""
        return await service.cancel(conn, caller.actor, registration_id)

    @post("/{registration_id:uuid}/rsvp", status_code=200)
    async def rsvp(
        self, conn: Conn, caller: CurrentCaller, registration_id: FromPath[UUID], data: JSONBody[RsvpIn]
    ) -> Registration:
        """accepted / tentative / declined; declined gives the seat away."""
        return await service.rsvp(conn, caller.actor, registration_id, data.rsvp)

    @post("/{registration_id:uuid}/accept", status_code=200)
    async def accept_offer(
        self,
        conn: Conn,
        caller: CurrentCaller,
        state: State,
        registration_id: FromPath[UUID],
        offer_token: OfferToken = None,
    ) -> Registration:
        """Take the seat held for you (link from the offer mail, or your personal token)."""
        return await self._answer(conn, caller.actor, state, registration_id, "accept", offer_token)

    @post("/{registration_id:uuid}/decline", status_code=200)
    async def decline_offer(
        self,
        conn: Conn,
        caller: CurrentCaller,
        state: State,
        registration_id: FromPath[UUID],
        offer_token: OfferToken = None,
    ) -> Registration:
        """Let the held seat go to the next person on the waiting list."""
        return await self._answer(conn, caller.actor, state, registration_id, "decline", offer_token)

    @staticmethod
    async def _answer(
        conn: Conn, actor: Actor | None, state: State, registration_id: UUID, action: OfferAction, token: str | None
    ) -> Registration:
        secret = state.settings.secret_key
        return await service.answer_offer(conn, actor, registration_id, action, secret=secret, offer_token=token)
