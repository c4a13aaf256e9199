"""The organiser's pages: sign in with the API key, their meetings with counts, create / edit / publish / cancel,
and at the door the registrations and waiting list with a check-in button each and the QR code to project.

/organisator/inloggen            GET form, POST the key (a signed session bound to it; services/web/organiser_session)
/organisator                     the body's meetings with their counts
/organisator/nieuw               GET the form, POST creates a draft
/organisator/bijeenkomsten/{id}  the meeting: counts, publish / cancel, edit, registrations, waiting list, QR
  .../bewerken                   GET the form filled in, POST saves
  .../publiceren .../annuleren   POST
  .../aanwezig                   POST one registration present (a button per row, big enough for a tablet)

Every rule is the API's own: meetings.service, registrations.listing, attendance.service.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from schemas.auth import Principal
from schemas.meetings import MeetingIn, MeetingPatch
from schemas.registrations import AttendanceMark
from services.attendance import checkin
from services.attendance import service as attendance
from services.auth.keys import authenticate
from services.dates import format_when
from services.db import Conn, Connection
from services.errors import DomainError, InvalidInput, NotAuthenticated
from services.evaluations.results import results_for as evaluation_results
from services.headers import SCRIPT_PAGE_POLICY
from services.meetings import service as meetings
from services.registrations import listing
from services.settings import Settings
from services.web import charts, choices, forms, organiser_form, session
from services.web import organiser_session as signed
from services.web.i18n import N_, locale
from services.web.i18n import gettext as _
from services.web.render import HEADERS, message, on_page_error, page, summary

HOME = "/organisator"


class DoorQueue(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    registration_ids: Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=500)]


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


async def _form_page(
    conn: Connection, *, title: str, action: str, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Template:
    options = await choices.load(conn)
    themes = [(r["slug"], r["name"]) for r in await conn.fetch("SELECT slug, name FROM themes ORDER BY position")]
    return page(
        "organiser_form.html", status=status, title=title, action=action, values=values, organiser=True,
        formats=organiser_form.formats(), themes=themes, groups=options.groups[0][1] if options.groups else [],
        errors=errors, error_list=summary(errors),
    )  # fmt: skip


async def _meeting_page(
    conn: Connection, settings: Settings, principal: Principal, meeting_id: UUID, *, notice: str = "", status: int = 200
) -> Template:
    meeting = await meetings.get(conn, principal, meeting_id)
    registrations = await listing.for_meeting(
        conn, principal, meeting_id, cursor=None, limit=500,
        status=None, organisation=None, professional_group=None, search=None,
    )  # fmt: skip
    info = await attendance.checkin_info(conn, principal, meeting_id, settings.base_url)
    qr = base64.b64encode(checkin.qr(info.url, "svg")).decode()
    now = datetime.now(UTC)
    people = [r for r in registrations.items if r.status in ("confirmed", "offered")]
    waiting = sorted((r for r in registrations.items if r.status == "waitlisted"), key=lambda r: r.position or 0)
    codes = sorted({r.participant.organisation_code for r in registrations.items if r.participant.organisation_code})
    names = await conn.fetch("SELECT code, name FROM organisations WHERE code = ANY($1::text[])", codes)
    return page(
        "organiser_meeting.html", status=status, title=meeting.title, organiser=True, meeting=meeting, notice=notice,
        when=format_when(meeting.starts_at, meeting.ends_at, meeting.timezone, locale()),
        people=people, waiting=waiting, organisation_names={r["code"]: r["name"] for r in names},
        checked_in=sum(1 for r in people if r.attendance == "attended"),
        code=info.code, qr=qr, door_open=info.opens_at <= now < info.closes_at and meeting.status == "published",
        back_path=f"{HOME}/bijeenkomsten/{meeting_id}", headers={"Content-Security-Policy": SCRIPT_PAGE_POLICY},
    )  # fmt: skip


def _on_signed_out(request: Request[Any, Any, Any], exc: _NotSignedIn) -> Template:
    return _signed_out_page(exc)


def _on_wrong_role(request: Request[Any, Any, Any], exc: WrongRole) -> Template:
    return message(_(exc.title), _(exc.detail), status=403, links=[(_("Naar je eigen pagina"), exc.home)])


_HANDLERS: dict[type[Exception], Any] = {
    DomainError: on_page_error,
    _NotSignedIn: _on_signed_out,
    WrongRole: _on_wrong_role,
}


class OrganiserController(Controller):
    path = HOME
    include_in_schema = False
    exception_handlers = _HANDLERS  # type: ignore[assignment]

    @get("/inloggen")
    async def signin_form(self) -> Template:
        return page("organiser_signin.html", title=_("Inloggen met je sleutel"), errors={}, error_list=[])

    @post("/inloggen", status_code=303)
    async def signin(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Response[Any]:
        session.same_site(request, state.settings)
        key = (await forms.read(request)).get("key", "")
        try:
            principal = await authenticate(conn, f"Bearer {key}")
            if principal.role not in ("organiser", "admin", "funder"):
                raise NotAuthenticated("Ongeldige of ingetrokken API-sleutel")
        except NotAuthenticated:
            errors = {"key": _("Deze sleutel kennen we niet, of hij is ingetrokken. Vraag je beheerder om een nieuwe.")}
            return page(
                "organiser_signin.html", status=401, title=_("Inloggen met je sleutel"), errors=errors,
                error_list=summary(errors),
            )  # fmt: skip
        target = "/financier" if principal.role == "funder" else HOME
        cookie = signed.cookie(state.settings, principal.key_id)
        return Redirect(target, status_code=303, cookies=[cookie], headers=HEADERS)

    @post("/uitloggen", status_code=303)
    async def signout(self, state: State, request: Request[Any, Any, Any]) -> Redirect:
        session.same_site(request, state.settings)
        return Redirect(f"{HOME}/inloggen", status_code=303, cookies=[signed.forget(state.settings)], headers=HEADERS)

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
        await _organiser(conn, state, request)
        return await _form_page(
            conn, title=_("Nieuwe bijeenkomst"), action=f"{HOME}/nieuw", values=organiser_form.empty(), errors={}
        )

    @post("/nieuw", status_code=303)
    async def create(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Response[Any]:
        principal = await _organiser(conn, state, request)
        form = await forms.read(request)
        try:
            async with conn.transaction():
                meeting = await meetings.create(conn, principal, organiser_form.decode(form, MeetingIn))
        except InvalidInput as exc:
            return await _form_page(
                conn, title=_("Nieuwe bijeenkomst"), action=f"{HOME}/nieuw", values=organiser_form.as_posted(form),
                errors=organiser_form.errors_at_fields(exc.errors), status=422,
            )  # fmt: skip
        return Redirect(f"{HOME}/bijeenkomsten/{meeting.id}", status_code=303, headers=HEADERS)

    @get("/bijeenkomsten/{meeting_id:uuid}")
    async def show(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Template:
        principal = await _organiser(conn, state, request)
        return await _meeting_page(conn, state.settings, principal, meeting_id)

    @get("/bijeenkomsten/{meeting_id:uuid}/bewerken")
    async def edit(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Template:
        principal = await _organiser(conn, state, request)
        meeting = await meetings.get(conn, principal, meeting_id)
        return await _form_page(
            conn, title=_("Bijeenkomst bewerken"), action=f"{HOME}/bijeenkomsten/{meeting_id}/bewerken",
            values=organiser_form.from_meeting(meeting), errors={},
        )  # fmt: skip

    @post("/bijeenkomsten/{meeting_id:uuid}/bewerken", status_code=200)
    async def save(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Template:
        principal = await _organiser(conn, state, request)
        form = await forms.read(request)
        try:
            async with conn.transaction():
                await meetings.update(conn, principal, meeting_id, organiser_form.decode(form, MeetingPatch))
        except InvalidInput as exc:
            return await _form_page(
                conn, title=_("Bijeenkomst bewerken"), action=f"{HOME}/bijeenkomsten/{meeting_id}/bewerken",
                values=organiser_form.as_posted(form), errors=organiser_form.errors_at_fields(exc.errors), status=422,
            )  # fmt: skip
        return await _meeting_page(conn, state.settings, principal, meeting_id, notice=_("Opgeslagen."))

    @post("/bijeenkomsten/{meeting_id:uuid}/publiceren", status_code=200)
    async def publish(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Template:
        principal = await _organiser(conn, state, request)
        async with conn.transaction():
            await meetings.publish(conn, principal, meeting_id)
        notice = _("Gepubliceerd: de bijeenkomst staat in de agenda en inschrijven kan.")
        return await _meeting_page(conn, state.settings, principal, meeting_id, notice=notice)

    @post("/bijeenkomsten/{meeting_id:uuid}/annuleren", status_code=200)
    async def cancel(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Template:
        principal = await _organiser(conn, state, request)
        reason = (await forms.read(request)).get("reason", "")[:500]
        async with conn.transaction():
            await meetings.cancel(conn, principal, meeting_id, reason)
        notice = _("Geannuleerd. Wie ingeschreven was, krijgt bericht.")
        return await _meeting_page(conn, state.settings, principal, meeting_id, notice=notice)

    @post("/bijeenkomsten/{meeting_id:uuid}/aanwezig", status_code=200)
    async def present(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Template:
        principal = await _organiser(conn, state, request)
        try:
            registration_id = UUID((await forms.read(request)).get("registration_id", ""))
        except ValueError:
            raise InvalidInput(_("Deze inschrijving kennen we niet"), field="registration_id") from None
        async with conn.transaction():
            await attendance.record(conn, principal, meeting_id, [AttendanceMark(registration_id=registration_id)])
        return await _meeting_page(conn, state.settings, principal, meeting_id, notice=_("Ingecheckt."))

    @get("/bijeenkomsten/{meeting_id:uuid}/inschrijvingen.csv")
    async def export(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Response[str]:
        """The registrations as the API exports them (CSV for Excel)."""
        principal = await _organiser(conn, state, request)
        text = await listing.csv_export(conn, principal, meeting_id, status=None)
        disposition = f'attachment; filename="inschrijvingen-{meeting_id}.csv"'
        return Response(text, media_type="text/csv", headers={**HEADERS, "Content-Disposition": disposition})

    @get("/bijeenkomsten/{meeting_id:uuid}/evaluatie")
    async def evaluation(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Template:
        """The evaluation's results (the API's, with its minimum of answers), a chart per closed question."""
        principal = await _organiser(conn, state, request)
        meeting = await meetings.get(conn, principal, meeting_id)
        results = await evaluation_results(conn, principal, meeting_id)
        charts_by_key = {
            q.key: charts.bars(f"vraag-{q.key}", q.text, list(q.distribution.items()))
            for q in results.questions
            if q.distribution
        }
        return page(
            "organiser_evaluation.html", title=_("Evaluatie"), organiser=True, meeting=meeting, results=results,
            charts=charts_by_key,
        )  # fmt: skip

    @post("/bijeenkomsten/{meeting_id:uuid}/aanwezig/lijst", status_code=200)
    async def present_many(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> dict[str, list[str]]:
        """The door view's queue (services/web/static/door.js), sent when there is a connection: each registration
        present. Recording is idempotent, so a queue sent twice counts nobody twice."""
        principal = await _organiser(conn, state, request)
        try:
            body = msgspec.json.decode(await request.body(), type=DoorQueue)
        except msgspec.ValidationError as exc:
            raise InvalidInput(str(exc), field="registration_ids") from None
        marks = [AttendanceMark(registration_id=rid) for rid in dict.fromkeys(body.registration_ids)]
        async with conn.transaction():
            recorded = await attendance.record(conn, principal, meeting_id, marks)
        return {"recorded": [str(a.registration_id) for a in recorded if a.registration_id]}
