"""POST /taal: the language switch in every page's header (a form, so it works without JavaScript).

The choice lives in a cookie for a year; it is not personal data and says nothing but "nl" or "en". The form
sends the page it came from, and the answer goes back there (only to a path on this site).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.datastructures import Cookie, State
from litestar.response import Redirect

from services.dates import Locale
from services.settings import Settings
from services.web import forms, i18n
from services.web.render import HEADERS

YEAR = 365 * 24 * 3600


def _back(path: str) -> str:
    """A path on this site; anything else (another host, a scheme, backslashes) is the agenda."""
    if path.startswith("/") and not path.startswith("//") and "\\" not in path and "\r" not in path:
        return path
    return "/agenda"


def cookie(settings: Settings, chosen: Locale) -> Cookie:
    return Cookie(
        key=i18n.COOKIE,
        value=chosen,
        max_age=YEAR,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )


def first_visit(request: Request[Any, Any, Any], settings: Settings, theirs: str) -> list[Cookie]:
    """A browser arriving by a personal link from a mail, with no language chosen yet: the pages in the language of
    the person's mails (a choice made with the switch stays)."""
    return [] if i18n.COOKIE in request.cookies else [cookie(settings, i18n.parse(theirs))]


def follow_reader(request: Request[Any, Any, Any], theirs: str | None) -> None:
    """A page opened by a link from the person's own mail, in a browser with no language chosen: in the language of
    their mails, as the mail was (only this page; the switch still decides)."""
    if i18n.COOKIE not in request.cookies and theirs:
        i18n.CURRENT.set(i18n.parse(theirs))


@post("/taal", status_code=303, include_in_schema=False)
async def switch_language(state: State, request: Request[Any, Any, Any]) -> Redirect:
    form = await forms.read(request)
    chosen = cookie(state.settings, i18n.parse(form.get("taal")))
    return Redirect(_back(form.get("terug", "")), status_code=303, cookies=[chosen], headers=HEADERS)
