"""CSRF protection for the pages' forms: Litestar's double-submit cookie (CSRFMiddleware).

Every page sets a signed token in an HttpOnly cookie and writes the same token into each form (`csrf_input`);
a POST without the pair is refused. The JSON API is excluded: it authenticates by a bearer key or a personal
link in the request itself, never by a cookie, so another site cannot borrow a visitor's credentials there.
The session cookie is SameSite=Lax and form posts are also checked for a foreign Origin (services/web/session.py);
the token covers browsers and proxies that drop Origin.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import PermissionDeniedException
from litestar.response import Template

from services.settings import Settings
from services.web.i18n import gettext as _
from services.web.render import message

COOKIE = "leerkring_csrf"
FAILED = "CSRF token verification failed"  # what Litestar's middleware says; the only 403 it raises
# Paths without forms of ours: the JSON API (bearer keys and personal links, no cookies), the feeds (GET only)
# and the development mailbox. The List-Unsubscribe link of a mass invitation takes RFC 8058's one-click POST from
# a mail client, which has no cookie of ours: its signed path is the proof, and all it can do is stop invitations.
EXCLUDE = ["^/api/", "^/feeds/", "^/dev/", "^/healthz", "^/schema", "^/uitschrijven/"]


def config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        # Development may run without a secret: then one per process (tokens do not survive a restart there).
        secret=settings.secret_key or secrets.token_hex(32),
        cookie_name=COOKIE,
        header_name="x-csrf-token",
        cookie_secure=settings.base_url.startswith("https://"),
        cookie_httponly=True,  # the token reaches the form through the page, never through script
        cookie_samesite="lax",
        exclude=EXCLUDE,
    )


def is_csrf_failure(request: Request[Any, Any, Any], exc: Exception) -> bool:
    return (
        isinstance(exc, PermissionDeniedException) and exc.detail == FAILED and not request.url.path.startswith("/api/")
    )


def refused(request: Request[Any, Any, Any], exc: Exception) -> Response[Any] | Template:
    """A form without its token: a page that says what to do (open the page again), not a bare 403."""
    return message(
        _("Dit formulier is verlopen"),
        _("Open de pagina opnieuw en probeer het nog eens. Werkt het dan nog niet, sta cookies van Leerkring toe."),
        status=403,
    )
