"""Who is calling: staff with an API key (`lkr_…`) or a participant with a personal manage token (`lkp_…`).

A participant token arrives as `Authorization: Bearer lkp_…` or, for links in mails, as `?token=lkp_…`.
Both kinds of bearer share the header, told apart by their marker, so one dependency serves endpoints that
organisers and participants both use (a registration, its cancellation).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias
from uuid import UUID

import msgspec
from litestar import Request
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from schemas.auth import Principal
from services.auth.keys import authenticate
from services.db import Connection
from services.errors import NotAuthenticated
from services.participants import tokens


class ParticipantActor(msgspec.Struct, frozen=True, kw_only=True):
    participant_id: UUID
    token_id: UUID


Actor: TypeAlias = Principal | ParticipantActor


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """What the dependency hands to a handler. Litestar validates dependency values with msgspec, which cannot
    tell two untagged Structs apart in a union, so the two kinds of caller travel in one Struct."""

    principal: Principal | None = None
    participant: ParticipantActor | None = None

    @property
    def actor(self) -> Actor | None:
        return self.principal or self.participant


CurrentCaller: TypeAlias = NamedDependency[Caller]
CurrentParticipant: TypeAlias = NamedDependency[ParticipantActor]

TokenQuery: TypeAlias = Annotated[
    str | None,
    QueryParameter(name="token", max_length=200, description="Persoonlijke beheertoken (lkp_…) uit een e-mail"),
]

_BAD_LINK = "Onbekende, verlopen of ingetrokken persoonlijke link; vraag een nieuwe aan"


async def _participant(conn: Connection, token: str) -> ParticipantActor:
    resolved = await tokens.resolve_token(conn, token, "manage")
    if resolved is None:
        raise NotAuthenticated(_BAD_LINK, field="token")
    return ParticipantActor(participant_id=resolved.participant_id, token_id=resolved.token_id)


async def provide_caller(
    request: Request[Any, Any, Any], conn: NamedDependency[Connection], token: TokenQuery = None
) -> Caller:
    """Anonymous callers get an empty Caller; a bad key or token answers 401 rather than being treated as
    anonymous."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value.startswith(tokens.MARKER):
            return Caller(participant=await _participant(conn, value))
        return Caller(principal=await authenticate(conn, header))
    if token is not None:
        return Caller(participant=await _participant(conn, token))
    return Caller()


async def provide_participant(caller: CurrentCaller) -> ParticipantActor:
    """For endpoints only a participant uses (their own data): 401 for anyone else."""
    if caller.participant is None:
        raise NotAuthenticated("Open deze pagina via je persoonlijke link (token)", field="token")
    return caller.participant
