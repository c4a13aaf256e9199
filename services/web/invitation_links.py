"""The pages behind the register and decline links in invitation mails; no login, the signed link is the key.

GET only shows what the link will do and a button; POST does it. Mail scanners (Outlook Safe Links, Gmail's link
checks) fetch every URL in a message, so a GET that registered or declined would answer on the invitee's behalf.
The pages speak the invitee's language (the invitation's); a link that names nobody we know, the reader's.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Template

from schemas.invitations import Locale
from services import ratelimit
from services.db import Conn, Connection
from services.errors import DomainError, InvalidInput
from services.invitations import links, respond
from services.meetings import service as meetings
from services.web import choices, forms, i18n, session
from services.web.account import sign_in_cookie
from services.web.i18n import gettext as _
from services.web.render import PAGE_ERRORS, field_errors, message, page, summary


def _speak(locale: Locale | None) -> None:
    """Answer in the invitee's language when we know it (the request's stays otherwise)."""
    if locale in i18n.LOCALES:
        i18n.CURRENT.set(locale)


def _refused(exc: DomainError) -> Template:
    return message(_("Dat lukte niet"), _(exc.detail), status=exc.status)


async def _check(
    conn: Connection, request: Request[Any, Any, Any], token: str, purpose: links.Purpose
) -> links.LinkClaims | Template:
    """The link's claims, or the page that says why not. Raises TooManyRequests (a page) for a client that tried
    too many wrong links (ratelimit.BAD_LINK); only wrong ones count (not expired ones, nor ones whose invitation
    is gone: those we made)."""
    await ratelimit.refuse_if_blocked(request, ratelimit.BAD_LINK)
    try:
        verified = links.verify(request.app.state.settings.secret_key, token, purpose)
        claims = await respond.claims_for(conn, verified)
    except links.InvalidLink as exc:
        _speak(exc.locale)
        if exc.expired:
            return message(
                _("Link verlopen"),
                _("Deze link is verlopen: de bijeenkomst is al begonnen of de link is te oud."),
                status=410,
            )
        if exc.gone:
            return message(
                _("Uitnodiging bestaat niet meer"),
                _("Deze uitnodiging bestaat niet meer: ze is gewist of na de bewaartermijn opgeruimd."),
                status=410,
            )
        await ratelimit.for_request(request, ratelimit.BAD_LINK)
        return message(
            _("Link ongeldig"),
            _("Deze link is ongeldig. Gebruik de link uit je uitnodiging, of vraag de organisator om een nieuwe."),
            status=404,
        )
    _speak(claims.locale)
    meeting = await meetings.get(conn, None, claims.meeting_id)
    if meeting.status == "cancelled":
        # Said before any form: filling it in only to hear "geannuleerd" after pressing the button helps nobody.
        return message(
            _("De bijeenkomst gaat niet door"),
            _("%(title)s is geannuleerd. Je hoeft niets te doen.") % {"title": meeting.title},
            status=410,
        )
    return claims


async def _register_form(
    conn: Connection,
    claims: links.LinkClaims,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    """The register page asks for what we do not know yet (name, organisation, professional group, consent)."""
    title = await respond.meeting_title(conn, claims.meeting_id)
    known = msgspec.structs.asdict(await respond.known_profile(conn, claims))
    errors = errors or {}
    return page(
        "register.html",
        status=422 if errors else 200,
        title=_("Inschrijven"),
        meeting_title=title,
        profile=forms.profile_values(form) if form is not None else known,
        choices=await choices.load(conn),
        errors=errors,
        error_list=summary(errors),
    )


def _registered(answer: respond.Answer) -> str:
    if answer.result == "waitlisted":
        return _(
            "De bijeenkomst is vol. Je staat op de wachtlijst (nummer %(position)s); komt er een plek vrij, "
            "dan hoor je het meteen."
        ) % {"position": answer.position or "?"}
    if answer.result == "offered":
        return _("Er staat een plek voor je klaar; bevestig die via de mail die je krijgt.")
    return _("Je bent ingeschreven. De bevestiging met de agenda-uitnodiging komt zo naar je toe.")


def _already(answer: respond.Answer) -> Template:
    """The register link opened again by someone registered: where they stand, and the way to their own page (which
    asks them to sign in unless this browser is signed in already; the GET signs no one in)."""
    if answer.result == "waitlisted":
        where = _("Je staat op de wachtlijst, op plaats %(rank)s. Komt er een plek vrij, dan hoor je het meteen.") % {
            "rank": answer.position or "?"
        }
    elif answer.result == "offered":
        where = _("Er staat een plek voor je klaar; bevestig die via de mail die je krijgt.")
    else:
        where = _("Je hebt een plek bij deze bijeenkomst.")
    return message(
        _("Je bent al ingeschreven"),
        where,
        _("Op je eigen pagina zie je je inschrijvingen en kun je je afmelden."),
        meeting_title=answer.title,
        links=[(_("Mijn bijeenkomsten"), "/mijn")],
    )


class InvitationLinkController(Controller):
    path = "/uitnodiging"
    tags = ("uitnodigingen",)
    security = [{}]  # noqa: RUF012 - the signed link is the credential
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # type: ignore[assignment]

    @get("/aanmelden/{token:str}")
    async def show_register(self, conn: Conn, request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
        """What the register link will do, with the form (a GET never acts: mail scanners follow links)."""
        claims = await _check(conn, request, token, "register")
        if isinstance(claims, Template):
            return claims
        already = await respond.registered_already(conn, claims)
        if already is not None:
            return _already(already)
        return await _register_form(conn, claims)

    @post("/aanmelden/{token:str}", status_code=200)
    async def register(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], token: FromPath[str]
    ) -> Template:
        """Register the invitee the signed link names, with what they filled in."""
        session.same_site(request, state.settings)
        claims = await _check(conn, request, token, "register")
        if isinstance(claims, Template):
            return claims
        form = await forms.read(request)
        try:
            # A savepoint: a refusal (closed, full) must not leave half an answer behind, e.g. a new participant row.
            async with conn.transaction():
                profile = forms.profile(form) if form else None
                answer = await respond.register(conn, claims, profile)
        except InvalidInput as exc:
            return await _register_form(conn, claims, form=form, errors=field_errors(exc.errors))
        except DomainError as exc:
            return _refused(exc)
        done = message(_("Gelukt"), _registered(answer), meeting_title=answer.title)
        # The signed link proves the mailbox: this browser may see the person's own page from now on.
        done.cookies.append(await sign_in_cookie(conn, state.settings, answer.participant_id))
        return done

    @get("/afmelden/{token:str}")
    async def show_decline(self, conn: Conn, request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
        claims = await _check(conn, request, token, "decline")
        if isinstance(claims, Template):
            return claims
        try:
            title = await respond.meeting_title(conn, claims.meeting_id)
        except DomainError as exc:
            return _refused(exc)
        return message(
            _("Je komt niet?"),
            _("Wil je laten weten dat je niet komt? Een inschrijving wordt dan geannuleerd."),
            meeting_title=title,
            button=_("Ja, ik kom niet"),
        )

    @post("/afmelden/{token:str}", status_code=200)
    async def decline(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], token: FromPath[str]
    ) -> Template:
        """Record the decline; an existing registration of the invitee is cancelled and their seat passed on."""
        session.same_site(request, state.settings)
        claims = await _check(conn, request, token, "decline")
        if isinstance(claims, Template):
            return claims
        try:
            async with conn.transaction():
                answer = await respond.decline(conn, claims)
        except DomainError as exc:
            return _refused(exc)
        return message(
            _("Gelukt"), _("Je hebt je afgemeld. Bedankt dat je het laat weten."), meeting_title=answer.title
        )
