"""Errors outside any page's own handling (an unknown path, a bad id or query parameter) as a page for a browser.

The app's handlers answer problem+json; a browser asking for a page under a page path would show that raw. This
wraps them: the same handler decides status, title and detail, and a request for HTML outside /api/ and /feeds/
gets them as the message page. API clients, feeds and anything not asking for HTML get the problem untouched.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response
from litestar.types import ExceptionHandlersMap

from services.web import i18n
from services.web.i18n import N_
from services.web.render import message

_NOT_PAGES = ("/api/", "/feeds/", "/static/", "/schema")
_KEPT_HEADERS = ("retry-after", "www-authenticate")
# The titles and details services/errors.py gives these answers, marked here so the catalog holds their English.
_WORDS = (
    N_("Niet gevonden"), N_("Deze pagina of dit object bestaat niet"), N_("Ongeldige invoer"), N_("Ongeldig verzoek"),
    N_("Niet aangemeld"), N_("Geen toegang"), N_("Methode niet toegestaan"), N_("Te veel verzoeken"), N_("Fout"),
    N_("Tijdelijk niet beschikbaar"), N_("Interne fout"),
    N_("De database is tijdelijk niet bereikbaar. Probeer het over enkele seconden opnieuw."),
    N_("Er ging iets mis aan onze kant. Probeer het later opnieuw."),
)  # fmt: skip


def _wants_page(request: Request[Any, Any, Any]) -> bool:
    if request.url.path.startswith(_NOT_PAGES):
        return False
    return request.accept.best_match(["application/json", "text/html"], default="application/json") == "text/html"


def _as_page(handler: Any) -> Any:
    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        answer: Response[Any] = handler(request, exc)
        if not _wants_page(request) or "problem+json" not in str(answer.media_type):
            return answer
        try:
            problem = json.loads(answer.content)
        except (TypeError, ValueError):
            return answer
        # An unknown path matches no route, so the language middleware's choice may not be in force: read it here.
        lang = i18n.parse(request.cookies.get(i18n.COOKIE))
        i18n.CURRENT.set(lang)
        kept = {k: v for k, v in answer.headers.items() if k.lower() in _KEPT_HEADERS}
        return message(
            i18n.gettext(str(problem.get("title", ""))),
            i18n.gettext(str(problem.get("detail", ""))),
            status=answer.status_code or 500,
            headers=kept,
            lang=lang,
        )

    return handle


def for_browsers(handlers: ExceptionHandlersMap) -> ExceptionHandlersMap:
    """`handlers`, each answering a browser's page request with the message page instead of problem+json."""
    return {kind: _as_page(handler) for kind, handler in handlers.items()}
