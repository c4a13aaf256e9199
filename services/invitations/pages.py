"""The pages behind the register and decline links in invitation mails; no login, the signed link is the key.

GET only shows what the link will do and a button; POST does it. Mail scanners (Outlook Safe Links, Gmail's link
checks) fetch every URL in a message, so a GET that registered or declined would answer on the invitee's behalf.
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
from services.web import choices, forms, session
from services.web.account import sign_in_cookie
from services.web.render import PAGE_ERRORS, field_errors, message, page, summary

PAGES: dict[Locale, dict[str, str]] = {
    "nl": {
        "confirm_register": "Inschrijven",
        "confirm_register_text": "Wil je je inschrijven voor deze bijeenkomst?",
        "button_register": "Ja, schrijf me in",
        "confirm_decline": "Afmelden",
        "confirm_decline_text": "Wil je laten weten dat je niet komt? Een inschrijving wordt dan geannuleerd.",
        "button_decline": "Ja, ik kom niet",
        "confirmed": "Je bent ingeschreven. De bevestiging met de agenda-uitnodiging komt zo naar je toe.",
        "waitlisted": "De bijeenkomst is vol. Je staat op de wachtlijst (nummer {position}); komt er een plek vrij, "
        "dan hoor je het meteen.",
        "offered": "Er staat een plek voor je klaar; bevestig die via de mail die je krijgt.",
        "declined": "Je hebt je afgemeld. Bedankt dat je het laat weten.",
        "done": "Gelukt",
        "invalid": "Deze link is ongeldig. Gebruik de link uit je uitnodiging, of vraag de organisator om een nieuwe.",
        "invalid_heading": "Link ongeldig",
        "expired": "Deze link is verlopen: de bijeenkomst is al begonnen of de link is te oud.",
        "expired_heading": "Link verlopen",
        "gone": "Deze uitnodiging bestaat niet meer: ze is gewist of na de bewaartermijn opgeruimd.",
        "gone_heading": "Uitnodiging bestaat niet meer",
        "refused_heading": "Dat lukte niet",
    },
    "en": {
        "confirm_register": "Register",
        "confirm_register_text": "Would you like to register for this meeting?",
        "button_register": "Yes, register me",
        "confirm_decline": "Decline",
        "confirm_decline_text": "Let us know you will not attend? Any registration of yours is then cancelled.",
        "button_decline": "Yes, I will not attend",
        "confirmed": "You are registered. The confirmation with the calendar invitation is on its way.",
        "waitlisted": "The meeting is full. You are on the waiting list (number {position}); we will let you know "
        "as soon as a seat frees up.",
        "offered": "A seat is being held for you; confirm it through the e-mail you will receive.",
        "declined": "You have declined. Thank you for letting us know.",
        "done": "Done",
        "invalid": "This link is not valid. Use the link in your invitation, or ask the organiser for a new one.",
        "invalid_heading": "Invalid link",
        "expired": "This link has expired: the meeting has started or the link is too old.",
        "expired_heading": "Link expired",
        "gone": "This invitation no longer exists: it was erased, or removed after the retention period.",
        "gone_heading": "Invitation no longer exists",
        "refused_heading": "That did not work",
    },
}


def _page(locale: Locale, status: int, heading: str, text: str, *, title: str = "", button: str = "") -> Template:
    return message(heading, text, status=status, meeting_title=title, button=button, lang=locale)


async def _check(
    conn: Connection, request: Request[Any, Any, Any], token: str, purpose: links.Purpose
) -> links.LinkClaims | Template:
    """The link's claims, or the page that says why not. Raises TooManyRequests (a page) for a client that tried
    too many wrong links (ratelimit.BAD_LINK); only wrong ones count (not expired ones, nor ones whose invitation
    is gone: those we made)."""
    await ratelimit.refuse_if_blocked(request, ratelimit.BAD_LINK)
    try:
        verified = links.verify(request.app.state.settings.secret_key, token, purpose)
        return await respond.claims_for(conn, verified)
    except links.InvalidLink as exc:
        locale: Locale = exc.locale or "nl"
        t = PAGES[locale]
        if exc.expired:
            return _page(locale, 410, t["expired_heading"], t["expired"])
        if exc.gone:
            return _page(locale, 410, t["gone_heading"], t["gone"])
        await ratelimit.for_request(request, ratelimit.BAD_LINK)
        return _page(locale, 404, t["invalid_heading"], t["invalid"])


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
        title=PAGES[claims.locale]["confirm_register"],
        lang=claims.locale,
        t=PAGES[claims.locale],
        meeting_title=title,
        profile=forms.profile_values(form) if form is not None else known,
        choices=await choices.load(conn),
        errors=errors,
        error_list=summary(errors),
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
        t = PAGES[claims.locale]
        form = await forms.read(request)
        try:
            # A savepoint: a refusal (closed, full) must not leave half an answer behind, e.g. a new participant row.
            async with conn.transaction():
                profile = forms.profile(form) if form else None
                answer = await respond.register(conn, claims, profile)
        except InvalidInput as exc:
            return await _register_form(conn, claims, form=form, errors=field_errors(exc.errors))
        except DomainError as exc:
            return _page(claims.locale, exc.status, t["refused_heading"], exc.detail)
        done = _page(
            claims.locale, 200, t["done"], t[answer.result].format(position=answer.position or "?"), title=answer.title
        )
        # The signed link proves the mailbox: this browser may see the person's own page from now on.
        done.cookies.append(await sign_in_cookie(conn, state.settings, answer.participant_id))
        return done

    @get("/afmelden/{token:str}")
    async def show_decline(self, conn: Conn, request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
        claims = await _check(conn, request, token, "decline")
        if isinstance(claims, Template):
            return claims
        t = PAGES[claims.locale]
        try:
            title = await respond.meeting_title(conn, claims.meeting_id)
        except DomainError as exc:
            return _page(claims.locale, exc.status, t["refused_heading"], exc.detail)
        return _page(
            claims.locale, 200, t["confirm_decline"], t["confirm_decline_text"], title=title, button=t["button_decline"]
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
        t = PAGES[claims.locale]
        try:
            async with conn.transaction():
                answer = await respond.decline(conn, claims)
        except DomainError as exc:
            return _page(claims.locale, exc.status, t["refused_heading"], exc.detail)
        return _page(claims.locale, 200, t["done"], t["declined"], title=answer.title)
