"""The pages behind the register and decline links in invitation mails; no login, the signed link is the key.

GET only shows what the link will do and a button; POST does it. Mail scanners (Outlook Safe Links, Gmail's link
checks) fetch every URL in a message, so a GET that registered or declined would answer on the invitee's behalf.
"""

from __future__ import annotations

from typing import Literal

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath

from schemas.invitations import Locale
from services.db import Conn, Connection
from services.errors import DomainError
from services.invitations import links, respond
from services.invitations.compose import template

HTML = "text/html; charset=utf-8"
# The token is in the URL: keep it out of Referer headers, caches and search engines.
HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex"}

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
        "refused_heading": "That did not work",
    },
}


def _page(
    locale: Locale, status: int, heading: str, message: str, *, title: str = "", button: str = ""
) -> Response[str]:
    body = template("respond.html").render(
        locale=locale, heading=heading, message=message, title=title, form=bool(button), button=button
    )
    return Response(body, status_code=status, media_type=HTML, headers=HEADERS)


def _check(state: State, token: str, purpose: links.Purpose) -> links.LinkClaims | Response[str]:
    try:
        return links.verify(state.settings.secret_key, token, purpose)
    except links.InvalidLink as exc:
        locale: Locale = exc.claims.locale if exc.claims else "nl"
        t = PAGES[locale]
        if exc.expired:
            return _page(locale, 410, t["expired_heading"], t["expired"])
        return _page(locale, 404, t["invalid_heading"], t["invalid"])


async def _show(conn: Connection, state: State, token: str, purpose: Literal["register", "decline"]) -> Response[str]:
    claims = _check(state, token, purpose)
    if isinstance(claims, Response):
        return claims
    t = PAGES[claims.locale]
    try:
        title = await respond.meeting_title(conn, claims.meeting_id)
    except DomainError as exc:
        return _page(claims.locale, exc.status, t["refused_heading"], exc.detail)
    return _page(
        claims.locale,
        200,
        t[f"confirm_{purpose}"],
        t[f"confirm_{purpose}_text"],
        title=title,
        button=t[f"button_{purpose}"],
    )


async def _act(conn: Connection, state: State, token: str, purpose: Literal["register", "decline"]) -> Response[str]:
    claims = _check(state, token, purpose)
    if isinstance(claims, Response):
        return claims
    t = PAGES[claims.locale]
    try:
        # A savepoint: a refusal (closed, full) must not leave half an answer behind, e.g. a new participant row.
        async with conn.transaction():
            answer = await (respond.register(conn, claims) if purpose == "register" else respond.decline(conn, claims))
    except DomainError as exc:
        # Closed, full or cancelled: the reason is Dutch (as every problem detail); say it on the page.
        return _page(claims.locale, exc.status, t["refused_heading"], exc.detail)
    message = t[answer.result].format(position=answer.position or "?")
    return _page(claims.locale, 200, t["done"], message, title=answer.title)


class InvitationLinkController(Controller):
    path = "/uitnodiging"
    tags = ("uitnodigingen",)
    security = [{}]  # noqa: RUF012 - the signed link is the credential

    @get("/aanmelden/{token:str}")
    async def show_register(self, conn: Conn, state: State, token: FromPath[str]) -> Response[str]:
        """What the register link will do, with a button (a GET never acts: mail scanners follow links)."""
        return await _show(conn, state, token, "register")

    @post("/aanmelden/{token:str}", status_code=200)
    async def register(self, conn: Conn, state: State, token: FromPath[str]) -> Response[str]:
        """Register the invitee the signed link names."""
        return await _act(conn, state, token, "register")

    @get("/afmelden/{token:str}")
    async def show_decline(self, conn: Conn, state: State, token: FromPath[str]) -> Response[str]:
        return await _show(conn, state, token, "decline")

    @post("/afmelden/{token:str}", status_code=200)
    async def decline(self, conn: Conn, state: State, token: FromPath[str]) -> Response[str]:
        """Record the decline; an existing registration of the invitee is cancelled and their seat passed on."""
        return await _act(conn, state, token, "decline")
