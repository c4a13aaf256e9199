"""The links of a reminder mail, with no sign-in: the signed link is the credential (services/reminders/links.py).

GET  /ik-kan-niet/{registration}/{token}                  what the button will do (mail scanners open links)
POST /ik-kan-niet/{registration}/{token}                  cancel: the seat goes to the next in line
GET  /ik-kom/{registration}/{token}                       "Kom je nog?": the yes, with a button
POST /ik-kom/{registration}/{token}                       yes: the registration stands (and is asked again only
                                                          after the rule's ask_after)
GET  /herinneringen-uit/{registration}/{deze|alle}/{token}  the opt-out, with a button
POST /herinneringen-uit/{registration}/{deze|alle}/{token}  no more reminders for this meeting, or none at all
"""

from __future__ import annotations

from typing import Any, NamedTuple
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Template

from services.db import Conn, Connection
from services.participants.auth import ParticipantActor
from services.registrations import service as registrations
from services.reminders import links
from services.reminders import service as reminders
from services.web import language, session
from services.web.i18n import N_
from services.web.i18n import gettext as _
from services.web.render import PAGE_ERRORS, message

# The link proves the person (it came in their mail); there is no token row behind it.
_NO_TOKEN = UUID(int=0)


def _invalid() -> Template:
    return message(_("Link ongeldig"), _("Deze link klopt niet. Gebruik de link uit je herinneringsmail."), status=404)


class _Linked(NamedTuple):
    status: str
    participant_id: UUID
    title: str
    locale: str
    meeting_status: str

    def actor(self) -> ParticipantActor:
        return ParticipantActor(participant_id=self.participant_id, token_id=_NO_TOKEN)


async def _linked(
    conn: Connection,
    request: Request[Any, Any, Any],
    purpose: links.Purpose | None,
    registration_id: UUID,
    token: str,
) -> _Linked | None:
    """The registration a link of `purpose` names, or None when the link is not ours (or the registration is gone):
    the one check every page here starts with. The page speaks the language of the mail the link came in."""
    if purpose is None or not links.verify(request.app.state.settings.secret_key, purpose, registration_id, token):
        return None
    row = await conn.fetchrow(
        "SELECT r.status, r.participant_id, m.title, p.locale, m.status AS meeting_status FROM registrations r "
        "JOIN meetings m ON m.id = r.meeting_id JOIN participants p ON p.id = r.participant_id WHERE r.id = $1",
        registration_id,
    )
    if row is None:
        return None
    language.follow_reader(request, row["locale"])
    return _Linked(**dict(row))


class CantComePageController(Controller):
    path = links.CANT_COME_PATH
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # type: ignore[assignment]

    @get("/{registration_id:uuid}/{token:str}")
    async def show(
        self, conn: Conn, request: Request[Any, Any, Any], registration_id: FromPath[UUID], token: FromPath[str]
    ) -> Template:
        row = await _linked(conn, request, "cant_come", registration_id, token)
        if row is None:
            return _invalid()
        if row.meeting_status == "cancelled":
            return message(
                _("De bijeenkomst gaat niet door"),
                _("Ze is geannuleerd; je hoeft niets te doen."),
                meeting_title=row.title,
            )
        if row.status not in ("confirmed", "offered", "waitlisted"):
            return message(_("Je bent al afgemeld"), _("Je staat niet meer ingeschreven."), meeting_title=row.title)
        return message(
            _("Kun je toch niet?"),
            _("Meld je af met de knop. Je plek gaat dan meteen naar de volgende op de wachtlijst."),
            meeting_title=row.title,
            button=_("Ja, meld me af"),
        )

    @post("/{registration_id:uuid}/{token:str}", status_code=200)
    async def cancel(
        self,
        conn: Conn,
        state: State,
        request: Request[Any, Any, Any],
        registration_id: FromPath[UUID],
        token: FromPath[str],
    ) -> Template:
        session.same_site(request, state.settings)
        row = await _linked(conn, request, "cant_come", registration_id, token)
        if row is None:
            return _invalid()
        await registrations.cancel(conn, row.actor(), registration_id)
        return message(
            _("Je bent afgemeld"),
            _("Bedankt dat je het laat weten. Je plek gaat naar de volgende op de wachtlijst."),
            _("Je krijgt nog een bevestiging per mail."),
            meeting_title=row.title,
        )


def _not_registered(title: str) -> Template:
    return message(_("Je bent niet meer ingeschreven"), _("Je staat niet meer ingeschreven."), meeting_title=title)


class StillComingPageController(Controller):
    path = links.STILL_COMING_PATH
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # type: ignore[assignment]

    @get("/{registration_id:uuid}/{token:str}")
    async def show(
        self, conn: Conn, request: Request[Any, Any, Any], registration_id: FromPath[UUID], token: FromPath[str]
    ) -> Template:
        row = await _linked(conn, request, "still_coming", registration_id, token)
        if row is None:
            return _invalid()
        if row.status != "confirmed":
            return _not_registered(row.title)
        return message(
            _("Kom je nog?"),
            _("Laat het weten met de knop; dan houden we je plek vast."),
            meeting_title=row.title,
            button=_("Ja, ik kom"),
        )

    @post("/{registration_id:uuid}/{token:str}", status_code=200)
    async def confirm(
        self,
        conn: Conn,
        state: State,
        request: Request[Any, Any, Any],
        registration_id: FromPath[UUID],
        token: FromPath[str],
    ) -> Template:
        session.same_site(request, state.settings)
        row = await _linked(conn, request, "still_coming", registration_id, token)
        if row is None:
            return _invalid()
        if row.status != "confirmed":
            return _not_registered(row.title)
        await registrations.rsvp(conn, row.actor(), registration_id, "accepted")
        await conn.execute("UPDATE registrations SET reconfirmed_at = now() WHERE id = $1", registration_id)
        return message(_("Fijn dat je komt!"), _("Je plek staat vast. Tot dan."), meeting_title=row.title)


_QUESTION = {
    "deze": (N_("Geen herinneringen meer voor deze bijeenkomst?"), N_("Ja, stop de herinneringen")),
    "alle": (N_("Nooit meer herinneringen?"), N_("Ja, stuur me geen herinneringen meer")),
}
_DONE = {
    "deze": N_("Je krijgt geen herinneringen meer voor deze bijeenkomst. Je inschrijving blijft staan."),
    "alle": N_("Je krijgt geen herinneringen meer, voor geen enkele bijeenkomst. Je inschrijvingen blijven staan."),
}


class ReminderOptOutController(Controller):
    path = links.OFF_PATH
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # type: ignore[assignment]

    @get("/{registration_id:uuid}/{reach:str}/{token:str}")
    async def show(
        self,
        conn: Conn,
        request: Request[Any, Any, Any],
        registration_id: FromPath[UUID],
        reach: FromPath[str],
        token: FromPath[str],
    ) -> Template:
        row = await _linked(conn, request, links.SCOPES.get(reach), registration_id, token)
        if row is None:
            return _invalid()
        heading, button = (_(text) for text in _QUESTION[reach])
        return message(
            heading,
            _("Je kunt ze later weer aanzetten op je eigen pagina (Mijn bijeenkomsten)."),
            meeting_title=row.title,
            button=button,
        )

    @post("/{registration_id:uuid}/{reach:str}/{token:str}", status_code=200)
    async def opt_out(
        self,
        conn: Conn,
        state: State,
        request: Request[Any, Any, Any],
        registration_id: FromPath[UUID],
        reach: FromPath[str],
        token: FromPath[str],
    ) -> Template:
        session.same_site(request, state.settings)
        row = await _linked(conn, request, links.SCOPES.get(reach), registration_id, token)
        if row is None:
            return _invalid()
        if reach == "deze":
            await reminders.set_for_meeting(conn, registration_id, wanted=False)
        else:
            await reminders.set_for_all(conn, row.participant_id, wanted=False)
        return message(_("Herinneringen uit"), _(_DONE[reach]), meeting_title=row.title)
