"""Who is looking at a page: a participant signed in through a link (a cookie holding their manage token), or
nobody. There are no passwords: a sign-in link, a confirmation link or a manage link from a mail sets the cookie.

The cookie is HttpOnly and SameSite=Lax, so other sites cannot send it along with a form they post here; on top
of that, a POST whose Origin is another site is refused (`same_site`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import Cookie

from services.db import Connection
from services.errors import Forbidden
from services.participants import tokens
from services.participants.auth import ParticipantActor
from services.settings import Settings
from services.web.i18n import N_

COOKIE = "leerkring_sessie"
# Pages a sign-in may return to; anything else goes to the participant's own page.
NEXT_PREFIXES = ("/mijn", "/bijeenkomsten/", "/inchecken/")


async def participant(conn: Connection, request: Request[Any, Any, Any]) -> ParticipantActor | None:
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    resolved = await tokens.resolve_token(conn, value, "manage")
    if resolved is None:
        return None
    return ParticipantActor(participant_id=resolved.participant_id, token_id=resolved.token_id)


def cookie(settings: Settings, token: str, expires_at: datetime) -> Cookie:
    max_age = max(0, int((expires_at - datetime.now(UTC)).total_seconds()))
    return Cookie(
        key=COOKIE,
        value=token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )


def forget(settings: Settings) -> Cookie:
    return Cookie(
        key=COOKIE,
        value="",
        max_age=0,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )


def same_site(request: Request[Any, Any, Any], settings: Settings) -> None:
    """Refuse a form posted from another site. Raises Forbidden."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return  # not a browser form from elsewhere (browsers send Origin on cross-site POSTs)
    ours = urlsplit(settings.base_url)
    theirs = urlsplit(origin)
    if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
        raise Forbidden(N_("Dit formulier komt niet van Leerkring"))


def safe_next(path: str | None) -> str:
    if path and path.startswith(NEXT_PREFIXES) and "//" not in path and "\\" not in path:
        return path
    return "/mijn"
