"""Signing in by mail for organisers, and the body's staff addresses (services/auth/staff.py holds the rules).

/organisator/inloggen/mail            POST an address: a known one gets a single-use link (rate limited per client like
                                      every door that sends mail); 303 to .../verstuurd, the same answer for all
/organisator/inloggen/link/{token}    GET what the link will do, with a button (a GET never spends it: mail scanners)
                                      POST spend it: the browser gets the page session for the address's key
/organisator/collegas                 the body's staff addresses; POST adds one
/organisator/collegas/{id}/verwijderen  POST removes one (its sessions end)
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from services import ratelimit
from services.auth import staff
from services.db import Conn, Connection
from services.errors import InvalidInput, TooManyRequests
from services.web import forms, session
from services.web import organiser_session as signed
from services.web.i18n import gettext as _
from services.web.i18n import locale
from services.web.organiser import _HANDLERS, HOME, ROLE_HOME, _organiser
from services.web.render import HEADERS, message, page, refusal, summary

TEAM = f"{HOME}/collegas"
DoneParam = Annotated[str | None, QueryParameter(name="gedaan", max_length=20)]


def _link_failed(state_: str | None) -> Template:
    again = [(_("Vraag een nieuwe link aan"), f"{HOME}/inloggen")]
    if state_ == "expired":
        text = _("Deze link is verlopen: een inloglink werkt een halfuur.")
        return message(_("Link verlopen"), text, status=410, links=again)
    if state_ == "used":
        return message(_("Link al gebruikt"), _("Deze link is al gebruikt: een inloglink werkt één keer."),
                       status=410, links=again)  # fmt: skip
    return message(_("Link onbekend"), _("Deze link kennen we niet."), status=404, links=again)


async def _team_page(
    conn: Connection, state: State, request: Request[Any, Any, Any], *, email: str = "",
    errors: dict[str, str] | None = None, notice: str = "",
) -> Template:  # fmt: skip
    principal = await _organiser(conn, state, request)
    addresses = await staff.list_for(conn, principal)
    return page(
        "organiser_staff.html", status=422 if errors else 200, title=_("Collega's die inloggen met hun e-mailadres"),
        organiser=True, addresses=addresses, email=email, notice=notice, errors=errors or {},
        error_list=summary(errors or {}),
    )  # fmt: skip


class OrganiserStaffController(Controller):
    path = HOME
    include_in_schema = False
    exception_handlers = _HANDLERS  # type: ignore[assignment]

    @get("/inloggen/mail")
    async def after_mail_post(self) -> Redirect:
        """The sign-in-by-mail form's errors are shown at its POST address; opened again, back to the sign-in page."""
        return Redirect(f"{HOME}/inloggen", status_code=303, headers=HEADERS)

    @post("/inloggen/mail", status_code=303)
    async def ask(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Response[Any]:
        session.same_site(request, state.settings)
        email = (await forms.read(request)).get("email", "")
        if "@" not in email or len(email) > 254:
            errors = {"email": _("Vul een geldig e-mailadres in")}
            return page(
                "organiser_signin.html", status=422, title=_("Inloggen met je sleutel of e-mailadres"), email=email,
                errors=errors, error_list=summary(errors),
            )  # fmt: skip
        try:
            await ratelimit.for_request(request, ratelimit.MAIL)
        except TooManyRequests as exc:
            return refusal(exc)
        async with conn.transaction():
            await staff.request_link(conn, email, locale())
        # Post/Redirect/Get: reloading the answer asks for nothing again.
        return Redirect(f"{HOME}/inloggen/verstuurd", status_code=303, headers=HEADERS)

    @get("/inloggen/verstuurd")
    async def asked(self) -> Template:
        """The same answer for every address: whether it is known is never said."""
        return message(
            _("Kijk in je mail"),
            _("Staat dit adres bij een organisatie in Leerkring, dan krijg je binnen een paar minuten een mail met "
              "een link om in te loggen. Die link werkt een halfuur en één keer."),
            _("Geen mail gekregen? Kijk in je map met ongewenste mail, of vraag een collega om je adres toe te "
              "voegen op de pagina Collega's."),
        )  # fmt: skip

    @get("/inloggen/link/{token:str}")
    async def show(self, conn: Conn, token: FromPath[str]) -> Template:
        found = await staff.link_state(conn, token)
        if found != "valid":
            return _link_failed(found)
        return message(_("Inloggen als organisator"), _("Met de knop log je in op de organisatorpagina's."),
                       button=_("Inloggen"))  # fmt: skip

    @post("/inloggen/link/{token:str}", status_code=303)
    async def use(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], token: FromPath[str]
    ) -> Response[Any]:
        session.same_site(request, state.settings)
        async with conn.transaction():
            member = await staff.spend_link(conn, token)
        if member is None:
            return _link_failed(await staff.link_state(conn, token))
        cookie = signed.cookie(state.settings, member.key_id, staff_id=member.id)
        return Redirect(ROLE_HOME.get(member.role, HOME), status_code=303, cookies=[cookie], headers=HEADERS)

    @get("/collegas")
    async def team(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], gedaan: DoneParam = None
    ) -> Template:
        done = {
            "toegevoegd": _("Toegevoegd: dit adres kan nu inloggen met een link per mail."),
            "verwijderd": _("Verwijderd: wie met dit adres was ingelogd, is nu uitgelogd."),
        }
        return await _team_page(conn, state, request, notice=done.get(gedaan or "", ""))

    @post("/collegas", status_code=303)
    async def add(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Response[Any]:
        principal = await _organiser(conn, state, request)
        email = (await forms.read(request)).get("email", "")
        try:
            async with conn.transaction():
                await staff.add(conn, principal, email)
        except InvalidInput as exc:
            return await _team_page(conn, state, request, email=email, errors={"email": _(exc.detail)})
        return Redirect(f"{TEAM}?gedaan=toegevoegd", status_code=303, headers=HEADERS)

    @post("/collegas/{staff_id:uuid}/verwijderen", status_code=303)
    async def remove(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], staff_id: FromPath[UUID]
    ) -> Redirect:
        principal = await _organiser(conn, state, request)
        async with conn.transaction():
            await staff.remove(conn, principal, staff_id)
        return Redirect(f"{TEAM}?gedaan=verwijderd", status_code=303, headers=HEADERS)
