"""/bevestigen/{token}: the link in the mail that confirms a registration made without proof of address.

GET shows the meeting and the details given, to check (a GET never acts: mail scanners open links); POST proves
the address, saves the details and takes the seat or the place in line, in confirmation order, and signs the
browser in. The POST is the hot path of an anonymous registration rush: it runs without a request transaction
(each statement commits on its own, see services/registrations/requests.confirm).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Template

from services.dates import format_when
from services.db import Conn
from services.errors import Gone, InvalidInput
from services.meetings import service as meetings
from services.participants import service as participants
from services.registrations import requests
from services.registrations.controllers import provide_statement_connection
from services.settings import Settings
from services.web import choices, forms, language, session
from services.web.account import sign_in_cookie
from services.web.i18n import gettext as _
from services.web.i18n import locale
from services.web.render import PAGE_ERRORS, field_errors, message, page, summary


def _expired(meeting_id: Any) -> Template:
    return message(
        _("Link verlopen"),
        _("Deze bevestigingslink is verlopen. Schrijf je opnieuw in op de pagina van de bijeenkomst."),
        status=410,
        links=[(_("Naar de bijeenkomst"), f"/bijeenkomsten/{meeting_id}")],
    )


class ConfirmController(Controller):
    path = "/bevestigen"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # type: ignore[assignment]

    @get("/{token:str}")
    async def show(self, conn: Conn, request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
        found = await requests.find(conn, token)
        language.follow_reader(request, found.locale)  # opened again in a fresh browser: in the mail's language
        meeting = await meetings.get(conn, None, found.meeting_id)
        if found.confirmed_at is not None:
            return message(
                _("Al bevestigd"),
                _("Je inschrijving is al bevestigd."),
                meeting_title=meeting.title,
                links=[(_("Naar de bijeenkomst"), f"/bijeenkomsten/{meeting.id}")],
            )
        if found.expired:
            return _expired(meeting.id)
        if found.proven:
            profile = msgspec.structs.asdict(await participants.me(conn, found.participant_id))
        else:
            profile = forms.profile_values({k: str(v) for k, v in found.details.items() if v is not None})
            profile["invitation_consent"] = bool(found.details.get("invitation_consent"))
        return self._form(meeting, profile, await choices.load(conn))

    @staticmethod
    def _form(meeting: Any, profile: dict[str, Any], options: Any, errors: dict[str, str] | None = None) -> Template:
        errors = errors or {}
        return page(
            "confirm.html",
            status=422 if errors else 200,
            title=_("Bevestig je inschrijving"),
            meeting=meeting,
            when=format_when(meeting.starts_at, meeting.ends_at, meeting.timezone, locale()),
            profile=profile,
            choices=options,
            errors=errors,
            error_list=summary(errors),
        )

    @post("/{token:str}", status_code=200, dependencies={"conn": Provide(provide_statement_connection)})
    async def confirm(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], token: FromPath[str]
    ) -> Response[Any]:
        settings: Settings = state.settings
        session.same_site(request, settings)
        form = await forms.read(request)
        try:
            # A bare POST (no fields) keeps the details of the request; a filled-in form is what the person says.
            profile = msgspec.structs.asdict(forms.profile(form)) if form else None
            registration, _created = await requests.confirm(conn, token, profile, secret=state.settings.secret_key)
        except Gone:
            return _expired((await requests.find(conn, token)).meeting_id)
        except InvalidInput as exc:
            found = await requests.find(conn, token)
            meeting = await meetings.get(conn, None, found.meeting_id)
            return self._form(meeting, forms.profile_values(form), await choices.load(conn), field_errors(exc.errors))
        if registration.status == "waitlisted":
            title = _("Je staat op de wachtlijst")
            line = _(
                "De bijeenkomst is vol. Je staat op plaats %(rank)s van de wachtlijst; "
                "komt er een plek vrij, dan hoor je het meteen."
            ) % {"rank": registration.waitlist_rank}
        else:
            title, line = _("Je bent ingeschreven"), _("De bevestiging met de agenda-uitnodiging komt zo per mail.")
        done = message(
            title,
            line,
            signed_in=True,
            links=[
                (_("Naar de bijeenkomst"), f"/bijeenkomsten/{registration.meeting_id}"),
                (_("Mijn bijeenkomsten"), "/mijn"),
            ],
        )
        done.cookies.append(await sign_in_cookie(conn, settings, registration.participant_id))
        return done
