"""The organiser's and the funder's page session: a signed cookie bound to the API key it was opened with.

An organiser signs in once with their key (the key never goes into the cookie); the cookie holds the key's id and
an expiry, signed with the secret key (services/links_signing). Every request checks the signature, the expiry and
that the key is still valid, so revoking the key ends its page sessions at once. HttpOnly, SameSite=Strict (an
organiser never arrives from another site with a reason to be signed in), Secure on https.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.datastructures import Cookie

from schemas.auth import Principal
from services import links_signing
from services.auth.keys import principal_for_key
from services.db import Connection
from services.settings import Settings

COOKIE = "leerkring_organisator"
HOURS = 12  # a working day at a venue, not longer


def _what(key_id: UUID, expires: int) -> str:
    return f"organiser-session:{key_id}:{expires}"


def cookie(settings: Settings, key_id: UUID, now: float | None = None) -> Cookie:
    expires = int((now or time.time()) + HOURS * 3600)
    token = links_signing.sign(settings.secret_key, _what(key_id, expires), kind="organiser session")
    return Cookie(
        key=COOKIE,
        value=f"{key_id}.{expires}.{token}",
        max_age=HOURS * 3600,
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.base_url.startswith("https://"),
    )


def forget(settings: Settings) -> Cookie:
    return Cookie(
        key=COOKIE, value="", max_age=0, path="/", httponly=True, samesite="strict",
        secure=settings.base_url.startswith("https://"),
    )  # fmt: skip


async def principal(
    conn: Connection,
    settings: Settings,
    request: Request[Any, Any, Any],
    roles: tuple[str, ...] = ("organiser", "admin"),
) -> Principal | None:
    """The key holder of this browser in one of `roles`, or None for a missing, forged, expired or revoked session
    (or another role: a funder's session opens no organiser page)."""
    value = request.cookies.get(COOKIE, "")
    key_text, _, rest = value.partition(".")
    expires_text, _, token = rest.partition(".")
    try:
        key_id, expires = UUID(key_text), int(expires_text)
    except ValueError:
        return None
    if expires < time.time() or not links_signing.valid(settings.secret_key, _what(key_id, expires), token):
        return None
    found = await principal_for_key(conn, key_id)
    if found is None or found.role not in roles:
        return None
    return found
