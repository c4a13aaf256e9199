"""Cancelling one registration from /mijn ("mijn bijeenkomsten"), for a signed-in participant.

GET  /mijn/afmelden/{registration}   what the button will do: the meeting, its time, and the seat moving on
POST /mijn/afmelden/{registration}   cancel (the API's own service function): the seat goes to the next in line,
                                     who gets their mail, and so does the person who cancelled

Someone else's registration answers as an unknown one: the page says nothing about registrations not yours.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from services.dates import format_when
from services.db import Conn, Connection
from services.participants.auth import ParticipantActor
from services.registrations import service as registrations
from services.seats.queries import ACTIVE_SQL
from services.web import session
from services.web.account import NotSignedIn, form_visitor
from services.web.i18n import gettext as _
from services.web.i18n import locale
from services.web.render import HEADERS, PAGE_ERRORS, message

# The visitor's own registration that can still be cancelled: active, for a published meeting not yet over.
_CANCELLABLE = f"""
SELECT m.title, m.starts_at, m.ends_at, m.timezone
FROM registrations r JOIN meetings m ON m.id = r.meeting_id
WHERE r.id = $1 AND r.participant_id = $2 AND r.status IN {ACTIVE_SQL}
  AND m.status = 'published' AND m.ends_at > now()
"""


async def _cancellable(conn: Connection, visitor: ParticipantActor, registration_id: UUID) -> Any:
    return await conn.fetchrow(_CANCELLABLE, registration_id, visitor.participant_id)


def _gone() -> Template:
    return message(
        _("Afmelden kan niet (meer)"),
        _("Deze inschrijving staat niet (meer) op je lijst: je bent al afgemeld, of de bijeenkomst is voorbij."),
        status=404,
        links=[(_("Terug naar mijn bijeenkomsten"), "/mijn")],
    )


class MyCancelController(Controller):
    path = "/mijn/afmelden"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # type: ignore[assignment]

    @get("/{registration_id:uuid}")
    async def show(self, conn: Conn, request: Request[Any, Any, Any], registration_id: FromPath[UUID]) -> Template:
        visitor = await session.participant(conn, request)
        if visitor is None:
            raise NotSignedIn()
        row = await _cancellable(conn, visitor, registration_id)
        if row is None:
            return _gone()
        return message(
            _("Afmelden?"),
            format_when(row["starts_at"], row["ends_at"], row["timezone"], locale()),
            _("Meld je af met de knop. Je plek gaat dan meteen naar de volgende op de wachtlijst."),
            meeting_title=row["title"],
            button=_("Ja, meld me af"),
            links=[(_("Nee, terug naar mijn bijeenkomsten"), "/mijn")],
            signed_in=True,
        )

    @post("/{registration_id:uuid}", status_code=303)
    async def cancel(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], registration_id: FromPath[UUID]
    ) -> Response[Any]:
        visitor = await form_visitor(conn, state, request)
        row = await _cancellable(conn, visitor, registration_id)
        if row is None:
            return _gone()
        async with conn.transaction():
            await registrations.cancel(conn, visitor, registration_id)
        # Post/Redirect/Get: a reload of the answer must not say "cannot cancel (any more)" right after it worked.
        return Redirect(f"/mijn?afgemeld={registration_id}", status_code=303, headers=HEADERS)
