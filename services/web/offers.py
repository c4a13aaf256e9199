"""/aanbod/{registration}/{accept|decline}/{token}: the buttons of the mail that offers a freed seat.

The signed token is the credential (services/registrations/offers.py): GET shows what the button will do (mail
scanners open links), POST takes or passes on the seat. The meeting's page posts to the same addresses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Template

from services.dates import moment
from services.db import Conn
from services.registrations import offers
from services.registrations import service as registrations
from services.registrations.offers import OfferAction
from services.web import language, session
from services.web.i18n import N_, locale
from services.web.i18n import gettext as _
from services.web.render import PAGE_ERRORS, message

_QUESTION: dict[OfferAction, tuple[str, str]] = {
    "accept": (N_("Plek aannemen"), N_("Ja, ik neem de plek")),
    "decline": (N_("Plek doorgeven"), N_("Nee, geef hem door")),
}


def _cancelled(title: str) -> Template:
    """A cancelled meeting has no seat to take or pass on: say that, not that the seat went to someone else."""
    return message(
        _("De bijeenkomst gaat niet door"),
        _("Ze is geannuleerd; er is geen plek meer aan te nemen of door te geven. Je hoeft niets te doen."),
        meeting_title=title,
        status=410,
    )


def _invalid() -> Template:
    return message(
        _("Link ongeldig"), _("Deze link klopt niet. Gebruik de knoppen in de mail met het aanbod."), status=404
    )


class OfferPageController(Controller):
    path = "/aanbod"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # type: ignore[assignment]

    @get("/{registration_id:uuid}/{action:str}/{token:str}")
    async def show(
        self,
        conn: Conn,
        state: State,
        request: Request[Any, Any, Any],
        registration_id: FromPath[UUID],
        action: FromPath[str],
        token: FromPath[str],
    ) -> Template:
        if action not in _QUESTION or not offers.verify(state.settings.secret_key, registration_id, action, token):
            return _invalid()
        row = await conn.fetchrow(
            "SELECT r.status, r.offer_expires_at, m.title, m.timezone, m.status AS meeting_status, p.locale "
            "FROM registrations r "
            "JOIN meetings m ON m.id = r.meeting_id JOIN participants p ON p.id = r.participant_id WHERE r.id = $1",
            registration_id,
        )
        if row is None:
            return _invalid()
        language.follow_reader(request, row["locale"])
        if row["meeting_status"] == "cancelled":
            return _cancelled(row["title"])
        if row["status"] == "confirmed":
            return message(
                _("Je bent al ingeschreven"), _("Je hebt de plek al aangenomen."), meeting_title=row["title"]
            )
        if row["status"] != "offered" or row["offer_expires_at"] <= datetime.now(UTC):
            return message(
                _("Geen plek meer voor je vast"),
                _("Het aanbod is verlopen of al beantwoord; de plek is naar de volgende op de wachtlijst gegaan."),
                meeting_title=row["title"],
                status=409,
            )
        heading, button = (_(text) for text in _QUESTION[action])
        deadline = moment(row["offer_expires_at"], row["timezone"], locale())
        return message(
            heading,
            _("We houden de plek voor je vast tot %(deadline)s.") % {"deadline": deadline},
            meeting_title=row["title"],
            button=button,
        )

    @post("/{registration_id:uuid}/{action:str}/{token:str}", status_code=200)
    async def answer(
        self,
        conn: Conn,
        state: State,
        request: Request[Any, Any, Any],
        registration_id: FromPath[UUID],
        action: FromPath[str],
        token: FromPath[str],
    ) -> Template:
        session.same_site(request, state.settings)
        if action not in _QUESTION:
            return _invalid()
        secret = state.settings.secret_key
        if offers.verify(secret, registration_id, action, token):
            # The page may have been opened before the meeting was cancelled and the button pressed after.
            meeting = await conn.fetchrow(
                "SELECT m.title, m.status, p.locale FROM registrations r JOIN meetings m ON m.id = r.meeting_id "
                "JOIN participants p ON p.id = r.participant_id WHERE r.id = $1",
                registration_id,
            )
            if meeting is not None and meeting["status"] == "cancelled":
                language.follow_reader(request, meeting["locale"])
                return _cancelled(meeting["title"])
        visitor = await session.participant(conn, request)
        registration = await registrations.answer_offer(
            conn,
            visitor,
            registration_id,
            action,
            secret=secret,
            offer_token=token,
        )
        title = await conn.fetchval("SELECT title FROM meetings WHERE id = $1", registration.meeting_id)
        language.follow_reader(
            request, await conn.fetchval("SELECT locale FROM participants WHERE id = $1", registration.participant_id)
        )
        if registration.status == "confirmed":
            return message(
                _("Je bent ingeschreven"),
                _("De bevestiging met de agenda-uitnodiging komt zo per mail."),
                meeting_title=title,
                signed_in=visitor is not None,
            )
        return message(
            _("Plek doorgegeven"),
            _("Bedankt dat je het laat weten: de plek gaat naar de volgende op de wachtlijst."),
            meeting_title=title,
            signed_in=visitor is not None,
        )
