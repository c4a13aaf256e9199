"""The organiser's and the funder's page session: a signed cookie bound to the API key it was opened with.

An organiser signs in once with their key (the key never goes into the cookie); the cookie holds the key's id and
an expiry, signed with the secret key (services/links_signing). Every request checks the signature, the expiry and
that the key is still valid, so revoking the key ends its page sessions at once. HttpOnly, SameSite=Strict (an
organiser never arrives from another site with a reason to be signed in), Secure on https.

A sign-in link from a mail (services/auth/staff.py) opens the same session for the staff address instead: the
cookie holds the address's id, and the session acts as the key the address is bound to, while both are live.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.datastructures import Cookie

from schemas.auth import Principal
from services import links_signing
from services.auth import staff
from services.auth.keys import principal_for_key
from services.db import Connection
from services.settings import Settings

COOKIE = "leerkring_organisator"
HOURS = 12  # a working day at a venue, not longer


STAFF = "staff-"  # the cookie's subject is a staff address, not a key


def _what(subject: str, expires: int) -> str:
    return f"organiser-session:{subject}:{expires}"


def cookie(settings: Settings, key_id: UUID, now: float | None = None, *, staff_id: UUID | None = None) -> Cookie:
    """The session of a key, or (`staff_id`) of a staff address signed in by mail."""
    expires = int((now or time.time()) + HOURS * 3600)
    subject = f"{STAFF}{staff_id}" if staff_id else str(key_id)
    token = links_signing.sign(settings.secret_key, _what(subject, expires), kind="organiser session")
    return Cookie(
        key=COOKIE,
        value=f"{subject}.{expires}.{token}",
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
    subject, _, rest = value.partition(".")
    expires_text, _, token = rest.partition(".")
    try:
        subject_id, expires = UUID(subject.removeprefix(STAFF)), int(expires_text)
    except ValueError:
        return None
    if expires < time.time() or not links_signing.valid(settings.secret_key, _what(subject, expires), token):
        return None
    key_id: UUID | None = subject_id
    if subject.startswith(STAFF):
        member = await staff.member(conn, subject_id)
        key_id = member.key_id if member else None
    found = await principal_for_key(conn, key_id) if key_id else None
    if found is None or found.role not in roles:
        return None
    return found
