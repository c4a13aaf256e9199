"""The organiser's pages: sign in with the API key, their meetings with counts, a new meeting; what every
organiser page shares (the session check, the error pages, the meeting form).

/organisator/inloggen            GET form, POST the key (a signed session bound to it; services/web/organiser_session)
/organisator                     the body's meetings with their counts
/organisator/nieuw               GET the form, POST creates a draft

One meeting's pages: services/web/organiser_meeting.py; series: organiser_series.py; sign-in by mail and the
body's staff addresses: organiser_staff.py; invitations: organiser_invite.py; exports: organiser_export.py.
Every rule is the API's own: meetings.service, meetings.series, registrations.listing, attendance.service.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from schemas.auth import Principal
from schemas.meetings import MeetingIn
from services.auth.keys import authenticate
from services.dates import format_when
from services.db import Conn, Connection
from services.errors import DomainError, InvalidInput, NotAuthenticated
from services.meetings import series
from services.meetings import service as meetings
from services.web import choices, forms, organiser_form, session
from services.web import organiser_session as signed
from services.web.i18n import N_, locale
from services.web.i18n import gettext as _
from services.web.render import HEADERS, message, page, refusal, summary

HOME = "/organisator"


class _NotSignedIn(DomainError):
    status = 401
    slug = "niet-aangemeld"
    title = N_("Log in als organisator")

    def __init__(self) -> None:
        super().__init__(N_("Log in met de API-sleutel van je organisatie om verder te gaan."))


class WrongRole(DomainError):
    """Signed in, but with a key of another role (a funder on an organiser page, or the other way round)."""

    status = 403
    slug = "andere-rol"
    title = N_("Deze pagina is niet voor jouw rol")

    def __init__(self, home: str) -> None:
        super().__init__(N_("Je bent ingelogd met de sleutel van een andere rol. Je eigen pagina's vind je hieronder."))
        self.home = home


ROLE_HOME = {"funder": "/financier", "organiser": HOME, "admin": HOME}
ALL_ROLES = tuple(ROLE_HOME)


async def signed_in(
    conn: Connection, state: State, request: Request[Any, Any, Any], roles: tuple[str, ...], signed_out: DomainError
) -> Principal:
    """The key holder of this page session in one of `roles`. Raises `signed_out` without a (valid) session,
    WrongRole for a session of another role: that one is signed in, and logging in again would not help."""
    found = await signed.principal(conn, state.settings, request, roles=ALL_ROLES)
    if found is None:
        raise signed_out
    if found.role not in roles:
        raise WrongRole(ROLE_HOME.get(found.role, HOME))
    return found


async def _organiser(conn: Connection, state: State, request: Request[Any, Any, Any]) -> Principal:
    """Raises _NotSignedIn, WrongRole; for a form post also Forbidden when it comes from another site."""
    if request.method == "POST":
        session.same_site(request, state.settings)
    return await signed_in(conn, state, request, ("organiser", "admin"), _NotSignedIn())


def _signed_out_page(exc: _NotSignedIn) -> Template:
    return message(_(exc.title), _(exc.detail), status=401, links=[(_("Inloggen als organisator"), f"{HOME}/inloggen")])


async def form_page(
    conn: Connection, principal: Principal, *, title: str, action: str, values: dict[str, str],
    errors: dict[str, str], status: int = 200,
) -> Template:  # fmt: skip
    """The meeting form (new and edit), with the body's series to choose from."""
    options = await choices.load(conn)
    themes = [(r["slug"], r["name"]) for r in await conn.fetch("SELECT slug, name FROM themes ORDER BY position")]
    own_series = [(str(s.id), s.title) for s in await series.list_for(conn, principal, after=None, limit=500)]
    return page(
        "organiser_form.html", status=status, title=title, action=action, values=values, organiser=True,
        formats=organiser_form.formats(), themes=themes, groups=options.groups[0][1] if options.groups else [],
        series=own_series, errors=errors, error_list=summary(errors),
    )  # fmt: skip


def _on_signed_out(request: Request[Any, Any, Any], exc: _NotSignedIn) -> Template:
    return _signed_out_page(exc)


def _on_wrong_role(request: Request[Any, Any, Any], exc: WrongRole) -> Template:
    return message(_(exc.title), _(exc.detail), status=403, links=[(_("Naar je eigen pagina"), exc.home)])


def _on_refused(request: Request[Any, Any, Any], exc: DomainError) -> Template:
    """A rule the service refused, on an organiser's page: the organiser's header, and the way back to the page the
    form was on (the address without its last step: .../leerkringen/{id}/publiceren -> .../leerkringen/{id})."""
    path = request.url.path.rstrip("/")
    back = path.rsplit("/", 1)[0] if request.method == "POST" and path.count("/") > 2 else HOME
    return refusal(exc, organiser=True, links=[(_("Terug"), back)])


_HANDLERS: dict[type[Exception], Any] = {
    DomainError: _on_refused,
    _NotSignedIn: _on_signed_out,
    WrongRole: _on_wrong_role,
}


class OrganiserController(Controller):
    path = HOME
    include_in_schema = False
    exception_handlers = _HANDLERS  # type: ignore[assignment]

    @get("/inloggen")
    async def signin_form(self) -> Template:
        return page("organiser_signin.html", title=_("Inloggen met je sleutel of e-mailadres"), email="")

    @post("/inloggen", status_code=303)
    async def signin(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Response[Any]:
        session.same_site(request, state.settings)
        key = (await forms.read(request)).get("key", "")
        if not key:
            # Nothing typed is not an unknown key: say what to do.
            errors = {"key": _("Vul de API-sleutel van je organisatie in")}
            return page(
                "organiser_signin.html", status=422, title=_("Inloggen met je sleutel of e-mailadres"), email="",
                errors=errors, error_list=summary(errors),
            )  # fmt: skip
        try:
            principal = await authenticate(conn, f"Bearer {key}")
            if principal.role not in ("organiser", "admin", "funder"):
                raise NotAuthenticated("Ongeldige of ingetrokken API-sleutel")
        except NotAuthenticated:
            errors = {"key": _("Deze sleutel kennen we niet, of hij is ingetrokken. Vraag je beheerder om een nieuwe.")}
            return page(
                "organiser_signin.html", status=401, title=_("Inloggen met je sleutel of e-mailadres"), email="",
                errors=errors, error_list=summary(errors),
            )  # fmt: skip
        target = "/financier" if principal.role == "funder" else HOME
        cookie = signed.cookie(state.settings, principal.key_id)
        return Redirect(target, status_code=303, cookies=[cookie], headers=HEADERS)

    @post("/uitloggen", status_code=303)
    async def signout(self, state: State, request: Request[Any, Any, Any]) -> Redirect:
        session.same_site(request, state.settings)
        # The door view's copies of pages (names of participants) and its queue go with the session.
        cleared = {**HEADERS, "Clear-Site-Data": '"cache", "storage"'}
        return Redirect(f"{HOME}/inloggen", status_code=303, cookies=[signed.forget(state.settings)], headers=cleared)

    @get("/")
    async def home(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Template:
        try:
            principal = await _organiser(conn, state, request)
        except _NotSignedIn as exc:
            return _signed_out_page(exc)
        except WrongRole as exc:
            return _on_wrong_role(request, exc)
        found = await meetings.list_visible(
            conn, principal, cursor=None, limit=200, audience_organisation=None, theme=None, from_=None, to=None,
            status=None, organisation=principal.organisation_code, funder=None, audience_group=None, series_id=None,
        )  # fmt: skip
        now = datetime.now(UTC)
        rows = [
            {"meeting": m, "when": format_when(m.starts_at, m.ends_at, m.timezone, locale())}
            for m in sorted(found, key=lambda m: (m.ends_at < now, m.starts_at))
        ]
        return page("organiser_home.html", title=_("Mijn bijeenkomsten als organisator"), rows=rows, organiser=True)

    @get("/nieuw")
    async def new(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Template:
        principal = await _organiser(conn, state, request)
        chosen = request.query_params.get("reeks", "")  # "a new meeting in this series", from a series page
        return await form_page(
            conn, principal, title=_("Nieuwe bijeenkomst"), action=f"{HOME}/nieuw",
            values=organiser_form.empty() | {"series": chosen[:36]}, errors={},
        )  # fmt: skip

    @post("/nieuw", status_code=303)
    async def create(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Response[Any]:
        principal = await _organiser(conn, state, request)
        form = await forms.read(request, organiser_form.LONGER)
        try:
            async with conn.transaction():
                meeting = await meetings.create(conn, principal, organiser_form.decode(form, MeetingIn))
        except InvalidInput as exc:
            return await form_page(
                conn, principal, title=_("Nieuwe bijeenkomst"), action=f"{HOME}/nieuw",
                values=organiser_form.as_posted(form), errors=organiser_form.errors_at_fields(exc.errors), status=422,
            )  # fmt: skip
        return Redirect(f"{HOME}/bijeenkomsten/{meeting.id}", status_code=303, headers=HEADERS)
